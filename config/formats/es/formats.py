"""Numbers on Spanish pages as US Spanish writes them (CLDR es_US), like the money formatter:
"1,234 simpatizantes", "$12,345.67". Everything else comes from Django's own es formats."""

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
