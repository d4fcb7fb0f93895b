"""Staff-facing texts of the CLI, in English and German (``SALONPOST_LANGUAGE``)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "migrated": ("Database is up to date.", "Datenbank ist auf dem neuesten Stand."),
    "salon_created": ("Salon {slug} created (id {id}).", "Salon {slug} angelegt (ID {id})."),
    "salon_exists": ("A salon {slug} exists already.", "Einen Salon {slug} gibt es schon."),
    "import_refused": (
        "Nothing was imported; fix these rows and import the file again:",
        "Nichts wurde importiert; bitte diese Zeilen korrigieren und erneut importieren:",
    ),
    "clients_imported": (
        "{created} clients created, {updated} updated, {consent_events} consent events recorded.",
        "{created} Kunden angelegt, {updated} aktualisiert, {consent_events} Einwilligungen "
        "protokolliert.",
    ),
    "visits_imported": ("{visits} visits imported.", "{visits} Besuche importiert."),
    "campaign_valid": ("Campaign {id} is valid.", "Kampagne {id} ist gültig."),
    "campaign_invalid": (
        "Campaign {id} cannot be sent:",
        "Kampagne {id} kann nicht versendet werden:",
    ),
    "recreate": (
        "A campaign without the unsubscribe link must be re-created with the "
        "{{{{ unsubscribe_url }}}} placeholder (R1); there is no override.",
        "Eine Kampagne ohne Abmeldelink muss mit dem Platzhalter {{{{ unsubscribe_url }}}} neu "
        "erstellt werden (R1); eine Ausnahme gibt es nicht.",
    ),
    "not_draft": (
        "Campaign {id} is {status}; only a draft can be queued.",
        "Kampagne {id} ist {status}; nur ein Entwurf kann eingereiht werden.",
    ),
    "queued": ("Campaign {id} queued.", "Kampagne {id} eingereiht."),
    "finished": ("Campaign {id}: {status}.", "Kampagne {id}: {status}."),
    "not_found": ("Not found: {what}", "Nicht gefunden: {what}"),
    "bad_option": ("Invalid option: {what}", "Ungültige Angabe: {what}"),
    "consent_recorded": (
        "Consent recorded: {channel} {action} ({source}).",
        "Einwilligung protokolliert: {channel} {action} ({source}).",
    ),
}


def text(key: str, language: str = "en", **values: object) -> str:
    english, german = TEXTS[key]
    return (german if language == "de" else english).format(**values)
