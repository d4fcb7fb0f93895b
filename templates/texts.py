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
    "demo_salon": (
        "Demo salon '{slug}' with {clients} clients, campaign {campaign}.",
        "Demo-Salon '{slug}' mit {clients} Kunden, Kampagne {campaign}.",
    ),
    "demo_deliveries": ("Deliveries: {counts}", "Zustellungen: {counts}"),
    "demo_outbox": ("Outbox folder: {path}", "Postausgang (Ordner): {path}"),
    "demo_link": (
        "Try an unsubscribe link (start the web app with 'salonpost serve --port {port}'): {link}",
        "Abmeldelink zum Ausprobieren (Web-App mit 'salonpost serve --port {port}' starten): "
        "{link}",
    ),
    "demo_sign_in": (
        "Staff pages: start 'salonpost serve --port {port}', open {login} and sign in with "
        "salon {slug}, name {name}, PIN {pin}.",
        "Seiten für Mitarbeitende: 'salonpost serve --port {port}' starten, {login} öffnen und "
        "anmelden mit Salon {slug}, Name {name}, PIN {pin}.",
    ),
    "bad_option": ("Invalid option: {what}", "Ungültige Angabe: {what}"),
    "staff_added": ("Staff member {name} added.", "Mitarbeiter/in {name} angelegt."),
    "staff_unlocked": (
        "Staff member {name} is unlocked and can sign in again.",
        "Mitarbeiter/in {name} ist entsperrt und kann sich wieder anmelden.",
    ),
    "staff_pin_reset": (
        "Staff member {name} has a new PIN (any lock-out is lifted).",
        "Mitarbeiter/in {name} hat eine neue PIN (eine Sperre ist aufgehoben).",
    ),
    "staff_needed": (
        "This needs a staff member: --staff NAME (the PIN is asked for, or --pin / "
        "SALONPOST_STAFF_PIN).",
        "Dafür braucht es eine/n Mitarbeiter/in: --staff NAME (die PIN wird abgefragt, oder "
        "--pin / SALONPOST_STAFF_PIN).",
    ),
    "pin_without_staff": ("--pin needs --staff NAME.", "--pin braucht --staff NAME."),
    "pin_needed": (
        "The PIN is missing: give --pin or SALONPOST_STAFF_PIN.",
        "Die PIN fehlt: --pin oder SALONPOST_STAFF_PIN angeben.",
    ),
    "pin_bad": (
        "Invalid PIN: {what}. A PIN is 4 to 6 digits.",
        "Ungültige PIN: {what}. Eine PIN hat 4 bis 6 Ziffern.",
    ),
    "pin_refused": (
        "Unknown staff member or wrong PIN.",
        "Unbekannte/r Mitarbeiter/in oder falsche PIN.",
    ),
    "pin_locked": (
        "Too many wrong PINs: locked until {until}.",
        "Zu viele falsche PINs: gesperrt bis {until}.",
    ),
    "client_created": ("Client {ref} created.", "Kunde/Kundin {ref} angelegt."),
    "client_refused": ("The client was not created: {what}", "Nicht angelegt: {what}"),
    "client_forgotten": (
        "Client {ref} is forgotten: personal data removed, visits and counts kept.",
        "Kunde/Kundin {ref} ist vergessen: persönliche Daten gelöscht, Besuche und Zahlen bleiben.",
    ),
    "forget_files_failed": (
        "Nothing was forgotten: an outbox file could not be rewritten ({what}). Fix it and repeat.",
        "Nichts wurde vergessen: eine Datei im Postausgang ließ sich nicht überschreiben "
        "({what}). Bitte beheben und wiederholen.",
    ),
    "already_forgotten": (
        "This client is forgotten already.",
        "Diese/r Kunde/in ist schon vergessen.",
    ),
    "no_reminders_set": (
        "Client {ref}: no reminders {state}.",
        "Kunde/Kundin {ref}: keine Erinnerungen {state}.",
    ),
    "message_sent": ("Message {kind} to {ref}: {status}.", "Nachricht {kind} an {ref}: {status}."),
    "message_skipped": (
        "Message {kind} to {ref} not sent ({rule}: {why}).",
        "Nachricht {kind} an {ref} nicht gesendet ({rule}: {why}).",
    ),
    "message_refused": (
        "The message was not sent: {what}",
        "Die Nachricht wurde nicht gesendet: {what}",
    ),
    "retention_set": (
        "Salon {slug}: automatic forgetting {state}.",
        "Salon {slug}: automatisches Vergessen {state}.",
    ),
    "retention_ran": (
        "Salon {salon}, night {night}: {count} clients anonymised{again}.",
        "Salon {salon}, Nacht {night}: {count} Kunden anonymisiert{again}.",
    ),
    "retention_nothing": ("No retention run is due.", "Kein Vergessen-Lauf ist fällig."),
    "consent_recorded": (
        "Consent recorded: {channel} {action} ({source}).",
        "Einwilligung protokolliert: {channel} {action} ({source}).",
    ),
    "dev_secret_exposed": (
        "Refusing to serve on {where} with the development {names}: it is in the public source "
        "code, so anyone could forge staff sessions and unsubscribe links. Serve on 127.0.0.1 "
        "only, or set a secret value.",
        "Start verweigert auf {where} mit dem Entwicklungswert von {names}: er steht im "
        "öffentlichen Quelltext, jede/r könnte damit Anmeldungen von Mitarbeitenden und "
        "Abmeldelinks fälschen. Nur auf 127.0.0.1 starten oder einen geheimen Wert setzen.",
    ),
    "dev_secret_links": (
        "Refusing to sign links to {where} with the development {names}: it is in the public "
        "source code, so anyone could forge unsubscribe links. Set a secret value.",
        "Links zu {where} werden nicht mit dem Entwicklungswert von {names} signiert: er steht "
        "im öffentlichen Quelltext, jede/r könnte damit Abmeldelinks fälschen. Bitte einen "
        "geheimen Wert setzen.",
    ),
    "serving": (
        "Salonpost serves {url} (Ctrl+C stops it). Staff sign-in: {login}",
        "Salonpost läuft auf {url} (Strg+C beendet). Anmeldung für Mitarbeitende: {login}",
    ),
    "base_url_elsewhere": (
        "Note: links in messages point to {base_url} (SALONPOST_BASE_URL), not to this port; "
        "set SALONPOST_BASE_URL={url} for them to reach this server.",
        "Hinweis: Links in Nachrichten zeigen auf {base_url} (SALONPOST_BASE_URL), nicht auf "
        "diesen Port; SALONPOST_BASE_URL={url} setzen, damit sie diesen Server erreichen.",
    ),
    "generate_secret": ("Generate one with: {command}", "Erzeugen mit: {command}"),
}


def text(key: str, language: str = "en", **values: object) -> str:
    english, german = TEXTS[key]
    return (german if language == "de" else english).format(**values)
