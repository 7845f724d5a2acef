"""Render the Jinja templates. StrictUndefined: a missing value is an error, never an empty string."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
from markupsafe import Markup

from builder.errors import BuildError


def script_json(data) -> Markup:
    """JSON safe inside <script type="application/json">: no '</script>' or '<!--' can form."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def render(templates: Path, name: str, context: dict) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as e:
        raise BuildError(f"{e.filename or templates / name}:{e.lineno}: template syntax error: {e.message}") from None
    except jinja2.UndefinedError as e:
        raise BuildError(f"{templates / name}: {e.message}; the builder does not provide it") from None
    except jinja2.TemplateNotFound as e:
        raise BuildError(f"{templates / e.name}: template not found; restore it from git") from None
