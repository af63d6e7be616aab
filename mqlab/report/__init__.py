"""Reporting: tables, slide charts and their labels in English and Korean."""
