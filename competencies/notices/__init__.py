"""Communication to employees (ISO 18295-1 6.5): notices of a change, published to an audience,
and each recipient's acknowledgement."""
