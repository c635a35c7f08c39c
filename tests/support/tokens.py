"""Access tokens as the ShareMyShows Flask app (Flask-JWT-Extended) issues them, and broken ones."""

import secrets
import time
import uuid

import jwt

OMIT = object()  # a claim's value that leaves the claim out


class Tokens:
    def __init__(self, secret: str):
        self.secret = secret

    @staticmethod
    def claims(subject, **overrides) -> dict:
        """Flask-JWT-Extended's access-token claims (`sub` as a string), with overrides."""
        now = int(time.time())
        claims = {
            "fresh": False,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "type": "access",
            "sub": str(subject),
            "nbf": now,
            "exp": now + 3600,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not OMIT}

    def access(self, subject, *, algorithm: str = "HS256", **overrides) -> str:
        return jwt.encode(self.claims(subject, **overrides), self.secret, algorithm=algorithm)

    def expired(self, subject) -> str:
        past = int(time.time()) - 3600
        return self.access(subject, iat=past - 60, nbf=past - 60, exp=past)

    def wrong_signature(self, subject) -> str:
        return jwt.encode(self.claims(subject), secrets.token_urlsafe(48), algorithm="HS256")

    def unsigned(self, subject) -> str:
        """`alg: none`: no signature at all."""
        return jwt.encode(self.claims(subject), None, algorithm="none")
