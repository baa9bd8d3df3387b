"""The ledgers of the paper book (台账) as Excel workbooks laid out like its forms.

`layouts` says what each ledger's sheet holds; `xlsx` writes any ledger and reads
the household survey back for import; `households` turns households into the
survey's rows and back; `cells` turns values into cells and back.
"""
