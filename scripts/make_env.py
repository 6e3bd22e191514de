"""Write a development `.env` from `.env.example`, with freshly generated secrets."""

import re
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

root = Path(__file__).resolve().parent.parent
text = (root / ".env.example").read_text(encoding="utf-8")
values = {
    "DJANGO_DEBUG": "true",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "DJANGO_SECURE_SSL_REDIRECT": "false",
}
for name, value in values.items():
    text = re.sub(rf"^#?\s*{name}=.*$", f"{name}={value}", text, flags=re.MULTILINE)
(root / ".env").write_text(text, encoding="utf-8")
print("Wrote .env for development (DJANGO_DEBUG=true, new secrets).")
