"""Zelfregie (issue 12): savings goals (potjes) and steps of autonomy."""
