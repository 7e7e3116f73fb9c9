"""Spark integration: type mapping, schema checks and alignment against ODCS contracts."""
