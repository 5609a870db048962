"""
System checks of core's settings, run by ``manage.py check`` (and so by the
container's entrypoint before it migrates): a rule that a setting must meet
once every setting is read, as opposed to a variable that does not parse,
which fails as the settings are read (core.env). Registered in
``CoreConfig.ready``.

    python manage.py check   # core.E001: the throttle rate of the 'user' scope ...
"""

from django.conf import settings
from django.core.checks import Error, register

from core.rates import Rate


@register()
def throttle_rates_check(app_configs, **kwargs) -> list[Error]:
    """Every REST throttle rate is in core.rates' syntax, and every scope the throttles use has one."""
    from core.throttling import FailOpenRateThrottle

    rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})
    errors = []
    for scope, text in rates.items():
        try:
            Rate.parse(text)
        except ValueError as error:
            errors.append(Error(
                f"REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'][{scope!r}] is not a rate: {error}",
                hint="Set it (THROTTLE_* variables) to a rate such as 60/min or 3/10s, or off.",
                id="core.E001",
            ))
    for scope in sorted(_throttle_scopes(FailOpenRateThrottle) - set(rates)):
        errors.append(Error(
            f"REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'] has no rate for the {scope!r} scope of a throttle",
            hint="Give the scope a rate, or off.",
            id="core.E002",
        ))
    return errors


def _throttle_scopes(cls) -> set[str]:
    scopes = set()
    for subclass in cls.__subclasses__():
        if getattr(subclass, "scope", None):
            scopes.add(subclass.scope)
        scopes |= _throttle_scopes(subclass)
    return scopes
