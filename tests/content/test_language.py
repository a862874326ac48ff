"""content/language.py: a page's language guessed from its text when it declares none."""

from __future__ import annotations

import pytest

from content.language import guess_language
from content.page_text import extract_html

EN = (
    "The server reads its configuration file when it starts, and it reads the file again when "
    "you send it a reload signal. If a setting is not valid, the server keeps the value it had "
    "before and writes a message to the log, so that you can see which line was wrong."
)
DE = (
    "Der Server liest die Konfigurationsdatei beim Start und noch einmal, wenn er ein Signal "
    "zum Neuladen bekommt. Ist eine Einstellung nicht gültig, behält er den alten Wert und "
    "schreibt eine Meldung in das Protokoll, damit man sieht, in welcher Zeile der Fehler ist."
)
FR = (
    "Le serveur lit son fichier de configuration au démarrage, et il le relit quand vous lui "
    "envoyez un signal de rechargement. Si un paramètre n'est pas valide, le serveur garde la "
    "valeur qu'il avait avant et écrit un message dans le journal pour que vous voyiez la ligne."
)
ES = (
    "El servidor lee su archivo de configuración cuando arranca, y lo vuelve a leer cuando se "
    "le envía una señal de recarga. Si un parámetro no es válido, el servidor conserva el valor "
    "que tenía y escribe un mensaje en el registro para que se vea cuál es la línea con el error."
)
CODE = " ".join(["x = f(y, 2); z += x * 3; print(z)  # 0x1F"] * 10)
LIST = " ".join(f"SKU-{i:04d} £{i}.99 ★★★★☆ 4.{i % 10} ({i * 3})" for i in range(20))


@pytest.mark.parametrize(
    "text, language",
    [
        (EN, "en"),
        (DE, "de"),
        (FR, "fr"),
        (ES, "es"),
        ("The server reads its file.", None),  # too few words to judge
        (CODE, None),  # symbols and numbers: no prose
        (LIST, None),  # a product grid
        (" ".join([EN[:150], DE[:150]] * 3), None),  # half and half: no plain winner
    ],
)
def test_guess_language(text: str, language: str | None) -> None:
    assert guess_language(text) == language


@pytest.mark.parametrize(
    "head, language",
    [
        ("<html>", "en"),  # declares none: guessed from the text
        ('<html lang="de">', "de"),  # a declaration wins over the text
    ],
)
def test_a_page_without_a_declared_language_gets_its_guess(head: str, language: str) -> None:
    page = f"{head}<body><main><p>{EN}</p></main></body></html>"
    assert extract_html(page).language == language
