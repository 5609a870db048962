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
    errors = rate_errors(
        rates, name="REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']", variables="THROTTLE_*", example="60/min or 3/10s",
        id="core.E001",
    )
    for scope in sorted(_throttle_scopes(FailOpenRateThrottle) - set(rates)):
        errors.append(Error(
            f"REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'] has no rate for the {scope!r} scope of a throttle",
            hint="Give the scope a rate, or off.",
            id="core.E002",
        ))
    return errors


def rate_errors(rates: dict, *, name: str, variables: str, example: str, id: str) -> list[Error]:
    """An error for each value of ``rates`` (the setting ``name``, set by ``variables``) not in core.rates' syntax."""
    errors = []
    for key, text in rates.items():
        try:
            Rate.parse(text)
        except ValueError as error:
            errors.append(Error(
                f"{name}[{key!r}] is not a rate: {error}",
                hint=f"Set it ({variables} variables) to a rate such as {example}, or off.", id=id,
            ))
    return errors


def _throttle_scopes(cls) -> set[str]:
    scopes = set()
    for subclass in cls.__subclasses__():
        if getattr(subclass, "scope", None):
            scopes.add(subclass.scope)
        scopes |= _throttle_scopes(subclass)
    return scopes
