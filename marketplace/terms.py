"""The terms and data processing agreement a municipality accepts when it enables an app.

One text for every app on the platform, versioned: an acceptance records the
version and the SHA-256 of the exact words shown, so what was agreed can be
proven later. A new version is a new constant here (and a new release of Torget).
"""

from __future__ import annotations

import hashlib

from flask_babel import lazy_gettext as _l

VERSION = "2026-11"

# Shown in the reader's language; the hash is of the bokmål text, the binding one.
TEXT_NB = """\
Vilkår for bruk av apper på Torget og databehandleravtale (versjon 2026-11)

1. Kommunen er behandlingsansvarlig for helseopplysningene appen får tilgang til.
   Leverandøren er databehandler og behandler opplysningene bare etter kommunens
   instruks, slik denne aktiveringen og de godkjente tilgangene beskriver.
2. Appen får bare de tilgangene kommunen har godkjent, og bare for helsepersonell
   med tjenstlig behov i rollene kommunen har valgt. Alle oppslag logges.
3. Leverandøren følger Norm for informasjonssikkerhet og personvern i helse- og
   omsorgssektoren (Normen) og varsler kommunen uten ugrunnet opphold om avvik.
4. Når kommunen deaktiverer appen, stopper all tilgang straks. Leverandøren
   tilbakeleverer eller sletter opplysninger den har lagret utenfor plattformen,
   og bekrefter dette skriftlig; kommunen registrerer bekreftelsen i Torget.
5. Pris og vilkår for betaling følger appens prismodell slik den er publisert i
   Torget på aktiveringstidspunktet.
"""

TITLE = _l("Terms of use and data processing agreement")
SUMMARY = _l(
    "The municipality is the data controller; the vendor processes data only as this "
    "enablement allows, for the roles chosen, with every access logged. Disabling stops "
    "access at once, and the vendor returns or deletes what it kept outside the platform."
)


def sha256() -> str:
    """The fingerprint of the text of the current version."""
    return hashlib.sha256(TEXT_NB.encode()).hexdigest()
