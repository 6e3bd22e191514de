"""Create the configured PostgreSQL database if it does not exist yet."""

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg import sql
from psycopg.conninfo import make_conninfo


class Command(BaseCommand):
    help = "Create the database named in DATABASE_URL when it is missing."

    def handle(self, *args, **options):
        db = settings.DATABASES["default"]
        params = {
            key: str(db[name])
            for key, name in [
                ("host", "HOST"),
                ("port", "PORT"),
                ("user", "USER"),
                ("password", "PASSWORD"),
            ]
            if db.get(name)
        }
        try:
            conninfo = make_conninfo(dbname="postgres", **params)
            with psycopg.connect(conninfo, autocommit=True) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
                ).fetchone()
                if exists:
                    self.stdout.write(f"Database {db['NAME']} already exists.")
                    return
                conn.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"]))
                )
        except psycopg.OperationalError as error:
            raise CommandError(
                f"PostgreSQL is not reachable ({error}). Start it, set DATABASE_URL, "
                "or run `docker compose up -d db redis`."
            ) from error
        self.stdout.write(self.style.SUCCESS(f"Database {db['NAME']} created."))
