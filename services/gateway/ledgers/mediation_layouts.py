"""The pillar-2 ledgers as the book prints them: title, and columns in the book's order.

- 调解矛盾纠纷记录表 (`mediation_record`): one row per mediation session of a case, as the
  book records each mediation; a case not yet mediated has one row with its parties, cause
  and remarks, so every registered dispute is in the book. 结果反馈 is how the case ended
  (or stands), with the agreement's terms or the transfer's reason.
- 辖区调解员情况统计表 (`mediators`) and 辖区单位参与调解责任表 (`mediation_units`): one
  row per active roster entry, with its number of mediations counted from the sessions.
"""

from __future__ import annotations

from services.gateway.ledgers.layouts import Column, Layout

MEDIATION_RECORD = Layout(
    "mediation_record",
    "调解矛盾纠纷记录表",
    "Record of disputes mediated",
    (
        Column("当事人(甲)", "party_a", width=14),
        Column("当事人(乙)", "party_b", width=14),
        Column("时间", "held_at", width=17),
        Column("地点", "place", width=16),
        Column("调解人", "mediators", width=14),
        Column("纠纷缘由", "dispute_cause", "note", width=30),
        Column("参加对象", "participants", "note", width=20),
        Column("调解情况", "account", "note", width=30),
        Column("结果反馈", "result", "note", width=30),
        Column("备注", "remarks", "note", width=16),
    ),
)

MEDIATORS = Layout(
    "mediators",
    "辖区调解员情况统计表",
    "Mediators of the community",
    (
        Column("姓名", "name", width=10),
        Column("性别", "sex", "code", "sex", width=6),
        Column("工作单位", "work_unit", width=22),
        Column("联系电话", "phone", "phone", width=15),
        Column("参与调解次数", "mediations", "integer", width=12),
        Column("备注", "remarks", "note", width=16),
    ),
)

MEDIATION_UNITS = Layout(
    "mediation_units",
    "辖区单位参与调解责任表",
    "Local units sharing mediation duty",
    (
        Column("单位", "unit_name", width=24),
        Column("参与调解责任人", "person_responsible", width=14),
        Column("联系电话", "phone", "phone", width=15),
        Column("参与调解次数", "mediations", "integer", width=12),
        Column("备注", "remarks", "note", width=16),
    ),
)
