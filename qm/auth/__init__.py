"""Users, teams, roles, permissions, login and API tokens."""
