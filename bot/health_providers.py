"""The provider checks of `doctor`: each configured provider's credentials are set, then what its
upstream says of them, with free reads only (`bot.providers.<name>.check`).

flow: the proxy answers with its token (a task-status look-up), Google accepts the bearer (the
credits call). useapi: the token (`GET /accounts`), the account's health, then its credits, tier
and the plan's video models (`GET /accounts/{email}`). gemini: the key and each configured model,
by the catalog and by Google's model look-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TypeVar

import httpx

from bot.config import Settings
from bot.health_result import (
    CheckResult,
    failed,
    from_error,
    given,
    passed,
    within,
)
from bot.jobs.errors import AuthExpired, UpstreamError
from bot.jobs.model import ProviderName
from bot.providers import catalog
from bot.providers.catalog import Kind, Platform
from bot.providers.flow import check as flow_check
from bot.providers.flow.check import OperatorAccount
from bot.providers.flow.session import fetch_session_token
from bot.providers.gemini import check as gemini_check
from bot.providers.gemini.errors import is_gone
from bot.providers.useapi import check as useapi_check
from bot.providers.useapi.check import AccountDetail, AccountSummary

T = TypeVar("T")

_FLOW_WHERE = {
    "FLOW_PROXY_TOKEN": "the token of your captcha-proxy service",
    "FLOW_BEARER_TOKEN": "a ya29. token from labs.google (README: \"The Google token expired\")",
    "FLOW_PROJECT_ID": "the UUID in the address of an open Flow project",
}
_FLOW_RETIRED = ("Google stopped serving this path in September 2026: PROVIDER=useapi or "
                 "PROVIDER=gemini is the way that works today")
_ADMIN_COMMAND = {"bearer_token": "/token", "proxy_token": "/proxytoken",
                  "project_id": "/project", "cookie": "/cookie"}
_PLATFORMS = {Platform.DEVELOPER: "the Gemini Developer API",
              Platform.AGENT_PLATFORM: "Agent Platform"}


# credentials: set, before anything is sent


def credentials(settings: Settings, provider: ProviderName,
                operator: OperatorAccount | None) -> CheckResult:
    """The variables `provider` needs are set (flow: or were sent by an admin)."""
    name = f"{provider}: credentials"
    if provider is ProviderName.FLOW:
        assert operator is not None
        return _flow_credentials(name, operator)
    if provider is ProviderName.USEAPI:
        if given(settings.useapi_token):
            return passed(name, "USEAPI_TOKEN is set")
        return failed(name, "USEAPI_TOKEN is not set",
                      "sign up at https://useapi.net, copy your API token into USEAPI_TOKEN, "
                      "and attach your Google account there (their sign-in page, or POST "
                      "/accounts with its cookies)")
    if given(settings.gemini_api_key):
        return passed(name, "GEMINI_API_KEY is set")
    if settings.gemini_vertex and settings.gemini_project:
        return passed(name, f"GEMINI_PROJECT={settings.gemini_project} with Application "
                            "Default Credentials")
    if settings.gemini_vertex:
        return failed(name, "GEMINI_API_KEY is not set (GEMINI_VERTEX=true)",
                      "set GEMINI_API_KEY to an Agent Platform express-mode key, or "
                      "GEMINI_PROJECT with Application Default Credentials (gcloud auth "
                      "application-default login)")
    return failed(name, "GEMINI_API_KEY is not set",
                  "create a key at https://aistudio.google.com/apikey and set GEMINI_API_KEY")


def _flow_credentials(name: str, account: OperatorAccount) -> CheckResult:
    if account.unreadable:
        return failed(name, f"the tokens admins stored in the database cannot be read: "
                            f"{account.unreadable}",
                      "set BOT_SECRET_KEY to the key they were sealed with (or put back the "
                      "key file beside the database)")
    values = {"FLOW_PROXY_TOKEN": account.proxy_token,
              "FLOW_BEARER_TOKEN": account.bearer_token or account.cookie,
              "FLOW_PROJECT_ID": account.project_id}
    missing = [variable for variable, value in values.items() if not given(value)]
    if missing:
        where = "; ".join(f"{variable}: {_FLOW_WHERE[variable]}" for variable in missing)
        return failed(name, f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not "
                            "set (nor sent by an admin)",
                      f"set {where}; or an admin sends them to the bot (/proxytoken, /token, "
                      f"/project). {_FLOW_RETIRED}")
    sent = sorted(_ADMIN_COMMAND[field] for field in account.from_database)
    return passed(name, "proxy token, bearer token and project id are set"
                  + (f" (an admin sent {', '.join(sent)})" if sent else ""))


# the network checks of one provider


async def network(settings: Settings, http: httpx.AsyncClient, provider: ProviderName, *,
                  operator: OperatorAccount | None, liveness: bool,
                  wait: float) -> list[CheckResult]:
    """What the provider's upstream says of the credentials (and, unless `liveness`, of the
    account's plan and the configured models)."""
    if provider is ProviderName.FLOW:
        assert operator is not None
        return await _flow(settings, http, operator, wait=wait)
    if provider is ProviderName.USEAPI:
        return await _useapi(settings, http, liveness=liveness, wait=wait)
    return await _gemini(settings, http, wait=wait)


# flow


async def _flow(settings: Settings, http: httpx.AsyncClient, account: OperatorAccount, *,
                wait: float) -> list[CheckResult]:
    proxy, google = await asyncio.gather(_flow_proxy(settings, http, account, wait),
                                         _flow_google(settings, http, account, wait))
    return [proxy, google]


async def _flow_proxy(settings: Settings, http: httpx.AsyncClient, account: OperatorAccount,
                      wait: float) -> CheckResult:
    name, url = "flow: proxy", settings.flow_proxy_url
    token = account.proxy_token or ""
    which = _flow_source(account, "proxy_token", "FLOW_PROXY_TOKEN")
    try:
        await within(flow_check.probe_proxy(http, url, token), url=url, seconds=wait)
    except UpstreamError as exc:
        return from_error(name, exc, url=url, variable="FLOW_PROXY_URL",
                          refused=f"the proxy refused {which}: get a valid token from your "
                                  "proxy service and set FLOW_PROXY_TOKEN, or send it to the "
                                  "bot (/proxytoken)")
    return passed(name, f"{url} answers and accepts {which}")


async def _flow_google(settings: Settings, http: httpx.AsyncClient, account: OperatorAccount,
                       wait: float) -> CheckResult:
    """The credits call with the bearer; a refused (or missing) bearer with a session cookie is
    renewed first, as the bot renews it."""
    name, url = "flow: Google token", settings.flow_api_url
    which = _flow_source(account, "bearer_token", "FLOW_BEARER_TOKEN")
    refused = ("ya29. tokens last about an hour: send the bot a fresh one (/token) or a "
               "session cookie that renews it (/cookie), or set FLOW_BEARER_TOKEN. "
               + _FLOW_RETIRED)
    try:
        if not account.bearer_token:
            raise AuthExpired("no bearer token is set, only a session cookie")
        status = await within(flow_check.credits(http, url, account.bearer_token), url=url,
                              seconds=wait)
        renewed = ""
    except UpstreamError as exc:
        if not (isinstance(exc, AuthExpired) and account.cookie):
            return from_error(name, exc, url=url, variable="FLOW_API_URL", refused=refused)
        session = settings.flow_session_url
        try:
            fresh = await within(fetch_session_token(http, session, account.cookie),
                                 url=session, seconds=wait)
        except UpstreamError as renewal:
            return from_error(name, renewal, url=session, variable="FLOW_SESSION_URL",
                              refused="the session cookie no longer gives a token: send the "
                                      f"bot a fresh one (/cookie). {_FLOW_RETIRED}")
        try:
            status = await within(flow_check.credits(http, url, fresh.access_token), url=url,
                                  seconds=wait)
        except UpstreamError as again:
            return from_error(name, again, url=url, variable="FLOW_API_URL", refused=refused)
        which, renewed = "the token", " (fresh from the session cookie, as the bot renews it)"
    tier = f", tier {status.tier}" if status.tier else ""
    if status.credits == 0:
        return failed(name, f"Google accepts {which}{renewed}, but no Flow credits are left{tier}",
                      "wait for the plan's monthly credits, or buy more in Google Flow")
    amount = "credits unknown" if status.credits is None else f"{status.credits} credits"
    return passed(name, f"Google accepts {which}{renewed}: {amount}{tier}")


def _flow_source(account: OperatorAccount, field: str, variable: str) -> str:
    if field in account.from_database:
        return f"the token an admin sent ({_ADMIN_COMMAND[field]})"
    return variable


# useapi


async def _useapi(settings: Settings, http: httpx.AsyncClient, *, liveness: bool,
                  wait: float) -> list[CheckResult]:
    token = settings.useapi_token.get_secret_value() if settings.useapi_token else ""
    client = useapi_check.probe_client(http, base_url=settings.useapi_url, token=token)
    url = settings.useapi_url
    name = "useapi: token"
    try:
        listed = await within(useapi_check.accounts(client), url=url, seconds=wait)
    except UpstreamError as exc:
        return [from_error(name, exc, url=url, variable="USEAPI_URL",
                           refused="copy the API token of your useapi.net account into "
                                   "USEAPI_TOKEN")]
    results = [passed(name, f"useapi.net accepts USEAPI_TOKEN ({_count(listed, 'Google account')}"
                            " attached)")]
    chosen, targets = _useapi_account(settings.useapi_email, listed)
    results.append(chosen)
    if not chosen.ok or liveness:
        return results
    answers = await _gather([within(useapi_check.account(client, email), url=url,
                                    seconds=wait) for email in targets])
    details: list[AccountDetail] = []
    for email, answer in zip(targets, answers, strict=True):
        if isinstance(answer, UpstreamError):
            results.append(from_error(f"useapi: credits of {email}", answer, url=url,
                                      variable="USEAPI_URL", refused="copy the API token of "
                                      "your useapi.net account into USEAPI_TOKEN"))
        else:
            details.append(answer)
            results.append(_useapi_credits(answer))
    return [*results, *_useapi_models(settings, details)]


def _useapi_account(email: str | None, listed: Sequence[AccountSummary]
                    ) -> tuple[CheckResult, list[str]]:
    """The account(s) jobs run on: USEAPI_EMAIL's, else every healthy one (useapi picks)."""
    name = "useapi: account"
    if not listed:
        return failed(name, "no Google account is attached to this useapi.net token",
                      "attach your Google account on useapi.net (their sign-in page, or POST "
                      "/accounts with its cookies)"), []
    if email:
        found = next((a for a in listed if a.email.casefold() == email.casefold()), None)
        if found is None:
            names = ", ".join(a.email for a in listed)
            return failed(name, f"USEAPI_EMAIL={email} is not attached (attached: {names})",
                          "set USEAPI_EMAIL to one of the attached accounts, or attach "
                          f"{email} on useapi.net"), []
        if not found.healthy:
            return failed(name, f"{found.email}: {found.error or found.health}",
                          f"reconnect {found.email} on useapi.net: its Google session broke, "
                          "and every job on it fails until then"), []
        return passed(name, f"{found.email} is attached and healthy"), [found.email]
    healthy = [a.email for a in listed if a.healthy]
    broken = "; ".join(f"{a.email}: {a.error or a.health}" for a in listed if not a.healthy)
    if not healthy:
        emails = ", ".join(a.email for a in listed)
        return failed(name, f"no attached account is healthy ({broken})",
                      f"reconnect {emails} on useapi.net: the Google session broke, and every "
                      "job fails until then"), []
    note = f"; not healthy: {broken}" if broken else ""
    return passed(name, f"{len(healthy)} of {_count(listed, 'account')} healthy, useapi picks "
                        f"one per job (USEAPI_EMAIL is not set){note}"), healthy


def _useapi_credits(detail: AccountDetail) -> CheckResult:
    name = f"useapi: credits of {detail.email}"
    tier = f", tier {detail.tier}" if detail.tier else ""
    if detail.credits == 0:
        return failed(name, f"no Flow credits left{tier}",
                      "wait for the plan's monthly credits, or top them up in Google Flow "
                      "(images cost none)")
    amount = "credits not reported" if detail.credits is None else f"{detail.credits} credits"
    return passed(name, f"{amount}{tier}")


def _useapi_models(settings: Settings, details: Sequence[AccountDetail]) -> list[CheckResult]:
    image, video = settings.useapi_image_model, settings.useapi_video_model
    results = []
    for kind, model, variable in ((Kind.IMAGE, image, "USEAPI_IMAGE_MODEL"),
                                  (Kind.VIDEO, video, "USEAPI_VIDEO_MODEL")):
        row = catalog.lookup("useapi", model)
        if row is None or row.kind is not kind:
            known = ", ".join(r.name for r in catalog.MODELS
                              if r.provider == "useapi" and r.kind is kind)
            results.append(failed(f"useapi: {kind} model", f"{model} is not a useapi.net "
                                  f"{kind} model", f"set {variable} to one of {known}"))
            continue
        if kind is Kind.IMAGE:
            results.append(passed(f"useapi: {kind} model", f"{model} (images cost no credits)"))
            continue
        results.append(_useapi_plan(model, details))
    return results


def _useapi_plan(model: str, details: Sequence[AccountDetail]) -> CheckResult:
    name = "useapi: video model"
    refused = [d for d in details if useapi_check.plan_allows(d, model) is False]
    if refused:
        plans = ", ".join(f"{d.email} ({d.tier or 'tier unknown'})" for d in refused)
        allowed = sorted({m for m, shown in useapi_check.VIDEO_DISPLAY_NAMES.items()
                          for d in refused if d.video_models is not None
                          and shown.casefold() in {v.casefold() for v in d.video_models}})
        other = f" (the plan lists {', '.join(allowed)})" if allowed else ""
        return failed(name, f"the plan of {plans} may not use {model}",
                      f"set USEAPI_VIDEO_MODEL to a model the plan has{other}, or use an "
                      "account whose plan has it")
    unknown = [d.email for d in details if useapi_check.plan_allows(d, model) is None]
    note = (f"; not checked against the plan of {', '.join(unknown)} (useapi lists no such "
            "model name)" if unknown else "")
    return passed(name, f"{model}, allowed by the plan{'s' if len(details) > 1 else ''}{note}"
                  if len(unknown) < len(details) else f"{model}{note}")


# gemini


async def _gemini(settings: Settings, http: httpx.AsyncClient, *,
                  wait: float) -> list[CheckResult]:
    """Both models looked up at once: the first answer also says whether the key is good."""
    lookup = gemini_check.ModelLookup(settings, http, timeout=wait)
    wanted = ((Kind.IMAGE, settings.gemini_image_model),
              (Kind.VIDEO, settings.gemini_video_model))
    try:
        answers = await _gather([within(lookup.get(model), url=lookup.root, seconds=wait)
                                 for _, model in wanted])
    finally:
        await lookup.aclose()
    name = "gemini: API key"
    served = [a for a in answers if not isinstance(a, UpstreamError) or a.status == 404]
    if not served:
        error = next((a for a in answers if isinstance(a, AuthExpired)), answers[0])
        assert isinstance(error, UpstreamError)
        return [from_error(name, error, url=lookup.root, variable="GEMINI_API_URL",
                           refused=_gemini_refused(settings))]
    which = "GEMINI_API_KEY" if given(settings.gemini_api_key) else "the credentials"
    results = [passed(name, f"Google accepts {which} ({lookup.root})")]
    platform = catalog.gemini_platform(settings.gemini_vertex)
    for (kind, model), answer in zip(wanted, answers, strict=True):
        results.append(_gemini_model(kind, model, answer, platform, root=lookup.root))
    return results


def _gemini_refused(settings: Settings) -> str:
    if settings.gemini_vertex:
        return ("set GEMINI_API_KEY to a valid Agent Platform express-mode key (or check "
                "GEMINI_PROJECT and the Application Default Credentials)")
    return ("create a key at https://aistudio.google.com/apikey (billing enabled) and set "
            "GEMINI_API_KEY")


def _gemini_model(kind: Kind, model: str, answer: gemini_check.ModelFound | UpstreamError,
                  platform: Platform, *, root: str) -> CheckResult:
    name = f"gemini: {kind} model"
    variable = catalog.gemini_variable(kind)
    default = catalog.default_model(kind, platform)
    problem = catalog.problem("gemini", model, kind, platform, variable)
    if problem is not None:
        return failed(name, problem.sentence.removesuffix(f"; the operator should set "
                                                          f"{variable}={problem.replacement}"),
                      f"set {variable}={problem.replacement}")
    row = catalog.lookup("gemini", model)
    if row is not None and row.kind is not kind:
        return failed(name, f"{model} makes {row.kind}s, not {kind}s", f"set {variable}={default}")
    if isinstance(answer, UpstreamError):
        if answer.status == 404:
            why = "was retired" if is_gone(answer) else "is not served"
            return failed(name, f"Google says {model} {why} on {_PLATFORMS[platform]} "
                                f"({answer})", f"set {variable}={default}")
        return from_error(name, answer, url=root, variable="GEMINI_API_URL",
                          refused=f"check {variable}")
    shown = f" ({answer.display_name})" if answer.display_name else ""
    note = "" if row is not None else "; not in the bot's catalog, so its options are not checked"
    return passed(name, f"{model}{shown} is served on {_PLATFORMS[platform]}{note}")


# helpers


async def _gather(calls: Sequence[Awaitable[T]]) -> list[T | UpstreamError]:
    """Every call's answer or its `UpstreamError`, in order; any other error is a bug: raised."""
    results: list[T | UpstreamError] = []
    for answer in await asyncio.gather(*calls, return_exceptions=True):
        if isinstance(answer, BaseException) and not isinstance(answer, UpstreamError):
            raise answer
        results.append(answer)
    return results


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"
