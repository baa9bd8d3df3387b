"""Pillar 2, disputes, "zero escalation" (矛盾纠纷“零激化”, be the 主持人).

Owns dispute cases and their workflow: registration from one of the book's four sources,
acceptance, investigation, mediation sessions, the agreement and its follow-up visits, or
transfer to the street's grand-mediation centre, and closing (see `shared.contracts.mediation`);
and the rosters of mediators and units sharing mediation duty, phones sealed
(`shared.contracts.mediation_rosters`).
Publishes `fz:{mediation}:events`; reads no other stream yet (intake's `ReportTriaged`
will open cases).
"""
