"""Apply pending ledger migrations to the writer: ``python migrate.py`` (from ``lambda/``)
with the same environment as the functions. The processor also does this on its first
request, so this is for operators who want the schema in place before traffic arrives."""

from payments import migrations, wiring


def main() -> None:
    applied = migrations.apply(wiring.database())
    print(f"applied: {', '.join(applied)}" if applied else "schema up to date")


if __name__ == "__main__":
    main()
