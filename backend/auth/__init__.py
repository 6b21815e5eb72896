"""Authentication: argon2 passwords, JWT access and refresh tokens, login
throttling, and the optional OpenID Connect login."""
