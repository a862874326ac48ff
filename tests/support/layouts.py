"""Page layouts the fast pass's boilerplate rules are wrong about (content/page_text.py), each
with the content text it must keep: the whole page is one boilerplate-looking element, or the
`<main>` landmark is empty. Written after real pages of the WCXB set, whose fast pass was empty
and which the crawl therefore stored as duplicates of each other."""

from __future__ import annotations

MENU = "<nav><a href='/'>Home</a> <a href='/shop'>Shop</a></nav>"
FOOT = "<footer>Copyright Example Ltd, 1 High Street</footer>"


def page(body: str, title: str = "A page") -> str:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>"


def content(topic: str) -> tuple[str, str]:
    """A heading and a paragraph about `topic`: (markup, their text)."""
    heading = f"All about {topic}"
    para = f"Our {topic} service is run from the workshop every weekday by two engineers."
    return f"<h1>{heading}</h1><p>{para}</p>", f"{heading}\n\n{para}"


def layouts(topic: str) -> dict[str, tuple[str, str]]:
    """name -> (html, the text the fast pass must find), each about `topic` in its own words."""
    wrappers = {
        # ASP.NET WebForms: the whole page is one <form>
        "aspnet_form": lambda m: page(f"<form id='aspnetForm'>{MENU}<div>{m}</div></form>"),
        # Discourse for a crawler without JavaScript: the topic is in <noscript>
        "noscript": lambda m: page(f"<div id='app'></div><noscript>{m}</noscript>"),
        # React streaming SSR: the content arrives in hidden divs that a script moves
        "hidden_stream": lambda m: page(f"<div id='root'></div><div hidden id='S:0'>{m}</div>"),
        # a theme's class for its main column
        "sidebar_first": lambda m: page(
            f"{MENU}<section class='col-sm-9 sidebar-first-only'>{m}</section>{FOOT}"
        ),
        # a site header element around the whole page
        "header_wrapper": lambda m: page(f"<header class='o-header'>{m}</header>"),
        # an empty <main> that the page's script fills; the text sits beside it
        "empty_main": lambda m: page(f"<main id='app'></main><div class='copy'>{m}</div>"),
    }
    found = {}
    for name, wrap in wrappers.items():
        markup, text = content(f"{topic} {name.replace('_', ' ')}")
        found[name] = (wrap(markup), text)
    return found
