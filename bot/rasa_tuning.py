"""Behaviour-preserving speed-ups inside Rasa 3.6's server, chosen by profile (docs/performance.md).

Guarantees: each change keeps what Rasa does and only removes repeated work: the action server's answer is
validated against the same JSON schema with the same error (the schema is checked once, not on every call),
action calls reuse one keep-alive HTTP session per endpoint and event loop instead of a new TCP connection
per call (same headers, auth, timeout and error handling), and the model's graph (NLU, then the policies) runs
on one worker thread instead of on the event loop, so webhooks are acknowledged while another turn is being
predicted (one graph run at a time, as before, in the same order within a conversation). Nothing is changed unless the installed Rasa is the
version these were written against (`RASA_VERSION`); `apply()` says which were applied, and RASA_TUNING=off
(or a list of names) switches them off to compare.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"
KEEPALIVE_SECONDS = 2.0  # below the action server's keep-alive (Sanic's default 5 s), so reuse never races a close


def rasa_version() -> str:
    """The installed Rasa's version."""
    from importlib.metadata import version

    return version("rasa")


def cached_action_validation() -> None:
    """`RemoteAction._validate_action_result` with the schema checked and the validator built once."""
    from jsonschema import ValidationError, validators
    from jsonschema.exceptions import best_match
    from rasa.core.actions import action as rasa_action
    from rasa.shared.constants import DOCS_BASE_URL

    remote = rasa_action.RemoteAction
    if getattr(remote._validate_action_result, "tuned", False):
        return
    schema = remote.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        # jsonschema.validate(result, schema) raises best_match(iter_errors(result)); so does this.
        error: ValidationError | None = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    _validate_action_result.tuned = True  # type: ignore[attr-defined]
    remote._validate_action_result = _validate_action_result


def pooled_endpoint_sessions() -> None:
    """`EndpointConfig.request` on one keep-alive aiohttp session per endpoint and loop (Rasa opens one per call)."""
    import aiohttp
    from rasa.utils import endpoints

    config_class = endpoints.EndpointConfig
    if getattr(config_class.session, "tuned", False):
        return
    original = config_class.session

    def kept_session(self: Any) -> aiohttp.ClientSession:
        # Rasa's session() with a connector that drops an idle connection before the server does (Sanic: 5 s).
        auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth \
            else None
        return aiohttp.ClientSession(headers=self.headers, auth=auth,
                                     timeout=aiohttp.ClientTimeout(total=endpoints.DEFAULT_REQUEST_TIMEOUT),
                                     connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS))

    class _Borrowed:
        """`async with` on a kept session without closing it (Rasa's request closes what session() returns)."""

        def __init__(self, session: aiohttp.ClientSession) -> None:
            self._session = session

        async def __aenter__(self) -> aiohttp.ClientSession:
            return self._session

        async def __aexit__(self, *exc: object) -> None:
            return None

    def session(self: Any) -> Any:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return original(self)  # outside a loop (never on the request path): Rasa's own behaviour
        kept: dict[Any, aiohttp.ClientSession] = self.__dict__.setdefault("_tuned_sessions", {})
        current = kept.get(loop)
        if current is None or current.closed:
            for other in [key for key in kept if key is not loop and key.is_closed()]:
                del kept[other]
            current = kept[loop] = kept_session(self)
        return _Borrowed(current)

    session.tuned = True  # type: ignore[attr-defined]
    config_class.session = session


_graph_thread: list[ThreadPoolExecutor] = []


def graph_executor() -> ThreadPoolExecutor:
    """The process's one thread for graph runs (made on first use)."""
    if not _graph_thread:
        _graph_thread.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="rasa-graph"))
    return _graph_thread[0]


async def off_loop(function: Any, *args: Any) -> Any:
    """`function(*args)` on the graph thread, with the caller's context variables."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(graph_executor(), lambda: context.run(function, *args))


def graph_off_loop() -> None:
    """`MessageProcessor.parse_message` and the prediction loop run the model's graph on the graph thread."""
    from rasa.core import processor as rasa_processor
    from rasa.shared.core.trackers import DialogueStateTracker

    processor_class = rasa_processor.MessageProcessor
    if getattr(processor_class.parse_message, "tuned", False):
        return
    structlogger = rasa_processor.structlogger

    # Copies of Rasa 3.6.21's two methods; the only change is `await off_loop(...)` around the graph calls.
    async def parse_message(self: Any, message: Any, tracker: Any = None,
                            only_output_properties: bool = True) -> dict[str, Any]:
        if self.http_interpreter:
            parse_data = await self.http_interpreter.parse(message)
        else:
            if tracker is None:
                tracker = DialogueStateTracker.from_events(message.sender_id, [])
            parse_data = await off_loop(self._parse_message_with_graph, message, tracker, only_output_properties)
        self._update_full_retrieval_intent(parse_data)
        structlogger.debug("processor.message.parse", parse_data_text=rasa_processor.copy.deepcopy(parse_data["text"]),
                           parse_data_intent=parse_data["intent"],
                           parse_data_entities=rasa_processor.copy.deepcopy(parse_data["entities"]))
        self._check_for_unseen_features(parse_data)
        return parse_data

    async def _run_prediction_loop(self: Any, output_channel: Any, tracker: Any) -> None:
        should_predict_another_action = True
        while should_predict_another_action and self._should_handle_message(tracker):
            try:
                action, prediction = await off_loop(self.predict_next_with_tracker_if_should, tracker)
            except rasa_processor.ActionLimitReached:
                rasa_processor.logger.warning("Circuit breaker tripped. Stopped predicting more actions for sender "
                                              f"'{tracker.sender_id}'.")
                if self.on_circuit_break:
                    self.on_circuit_break(tracker, output_channel, self.nlg)
                break
            if prediction.is_end_to_end_prediction:
                tracker = await self.run_action_extract_slots(output_channel, tracker)
            should_predict_another_action = await self._run_action(action, tracker, output_channel, self.nlg,
                                                                   prediction)

    parse_message.tuned = True  # type: ignore[attr-defined]
    processor_class.parse_message = parse_message
    processor_class._run_prediction_loop = _run_prediction_loop


TUNINGS = {"cached_action_validation": cached_action_validation, "pooled_endpoint_sessions": pooled_endpoint_sessions,
           "graph_off_loop": graph_off_loop}


def apply(setting: str = "") -> list[str]:
    """Apply the speed-ups (all; none for "off"; or a comma-separated list) if Rasa is the expected version."""
    if setting.strip().lower() == "off":
        return []
    names = [name.strip() for name in setting.split(",") if name.strip()] or list(TUNINGS)
    unknown = [name for name in names if name not in TUNINGS]
    if unknown:
        raise ValueError(f"unknown Rasa tunings: {', '.join(unknown)}")
    found = rasa_version()
    if found != RASA_VERSION:
        logger.warning("Rasa %s is not %s: the speed-ups in bot.rasa_tuning are off", found, RASA_VERSION)
        return []
    for name in names:
        TUNINGS[name]()
    return names
