"""The compliance gate: rules R1–R9 as pure functions and one set-based audience query."""
