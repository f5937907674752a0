"""HTML pages from packaged templates, every value escaped.

Templates are ``string.Template`` files (``$name``) in
``corefarm/site/templates``; a value is HTML-escaped unless it is
:class:`Markup` built by this module's helpers. Deliberately tiny: the site
has a dozen pages and no logic belongs in them.
"""

import html
from functools import lru_cache
from importlib.resources import files
from string import Template

TEMPLATES = files("corefarm.site.templates")

NAV = (
    ("", "Home"), ("submit", "Submit"), ("jobs", "My jobs"), ("status", "Status"),
    ("participate", "Participate"), ("download", "Download"), ("leaderboard", "Leaderboard"),
    ("feedback", "Feedback"),
)


class Markup(str):
    """Text that is already safe HTML."""


def escape(value):
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def join(parts):
    return Markup("".join(escape(p) for p in parts))


def tag(name, content="", **attrs):
    """``<name attr="v">content</name>`` with escaping; ``class_`` → class,
    ``data_x`` → data-x; True-valued attributes are bare, None ones dropped."""
    out = [name]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        key = key.rstrip("_").replace("_", "-")
        out.append(key if value is True else f'{key}="{escape(value)}"')
    return Markup(f"<{' '.join(out)}>{escape(content)}</{name}>")


@lru_cache(maxsize=None)
def _template(name):
    return Template(TEMPLATES.joinpath(name).read_text("utf-8"))


def render(template, **values):
    """A template with every ``$name`` replaced by the escaped value."""
    return Markup(_template(template).substitute({k: escape(v) for k, v in values.items()}))


def field_error(errors, name):
    """The message shown beside a form field (empty when none)."""
    message = errors.get(name, "")
    return tag("p", message, class_="field-error", id=f"{name}-error", role="alert" if message else None)


def nav(current, user, csrf):
    links = [tag("a", label, href=path or ".", aria_current="page" if path == current else None)
             for path, label in NAV]
    if user:
        links.append(tag("span", user, class_="who"))
        links.append(render("logout_form.html", csrf=csrf))
    else:
        for path, label in (("join", "Join"), ("login", "Log in")):
            links.append(tag("a", label, href=path, aria_current="page" if path == current else None))
    return join(links)


def page(base, title, current, body, user=None, csrf="", scripts=()):
    """The whole HTML document around a page body."""
    script_tags = join(tag("script", "", src=f"static/{s}", defer=True) for s in scripts)
    return render("layout.html", base=base.rstrip("/") + "/", title=title,
                  nav=nav(current, user, csrf), body=body, scripts=script_tags).encode("utf-8")
