import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pomogu.settings")
application = get_wsgi_application()


def _warm() -> None:
    # The reply guard compiles its lexicon once per process (about 0.3 s): at start, not in
    # the first agent's reply.
    from pomogu.contact.guard_phrases import builtin

    builtin()


_warm()
