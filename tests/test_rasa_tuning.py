"""The speed-ups inside Rasa's server keep Rasa's behaviour: same validation errors, same requests."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import jsonschema
import pytest
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.exceptions import ActionLimitReached
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_tuning

VALID = {"events": [{"event": "slot", "name": "province", "value": "Hà Nội", "timestamp": None}],
         "responses": [{"text": "Xin chào"}]}
INVALID = [{"events": [{"event": "slot", "name": 5}]}, {"events": "not a list"}, {"responses": [1]},
           {"events": [{"event": "no_such_event"}]}]


@pytest.fixture(autouse=True)
def tuned(monkeypatch):
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    monkeypatch.setattr(MessageProcessor, "parse_message", MessageProcessor.parse_message)
    monkeypatch.setattr(MessageProcessor, "_run_prediction_loop", MessageProcessor._run_prediction_loop)
    original = RemoteAction("action_x", None)
    expected = {}
    for index, body in enumerate(INVALID):
        with pytest.raises(jsonschema.ValidationError) as caught:
            original._validate_action_result(body)
        expected[index] = caught.value.message
    assert rasa_tuning.apply() == list(rasa_tuning.TUNINGS)
    return expected


def test_the_cached_validator_accepts_and_rejects_as_rasa_does(tuned) -> None:
    action = RemoteAction("action_x", None)
    assert getattr(RemoteAction._validate_action_result, "tuned", False)
    assert action._validate_action_result(VALID) is True
    for index, body in enumerate(INVALID):
        with pytest.raises(jsonschema.ValidationError) as caught:
            action._validate_action_result(body)
        assert caught.value.message == tuned[index]


def test_off_and_unknown_settings() -> None:
    assert rasa_tuning.apply("off") == []
    with pytest.raises(ValueError):
        rasa_tuning.apply("faster_please")


async def test_action_calls_reuse_one_connection_with_rasas_headers(aiohttp_server) -> None:
    peers: list[tuple] = []
    seen: list[dict] = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        seen.append({"auth": request.headers.get("Authorization"), "x": request.headers.get("X-Test"),
                     "token": request.query.get("token"), "body": await request.json()})
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    server = await aiohttp_server(app)
    endpoint = EndpointConfig(url=str(server.make_url("/webhook")), headers={"X-Test": "1"}, token="t0k",
                              basic_auth={"username": "u", "password": "p"})
    for number in range(3):
        assert await endpoint.request(json={"n": number}, method="post") == {"events": [], "responses": []}
    assert len(set(peers)) == 1  # one keep-alive connection, not one per call
    assert [s["body"]["n"] for s in seen] == [0, 1, 2]
    assert all(s["x"] == "1" and s["token"] == "t0k" and s["auth"].startswith("Basic ") for s in seen)


async def test_an_error_status_still_raises(aiohttp_server) -> None:
    from rasa.utils.endpoints import ClientResponseError

    async def failing(_request: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    app = web.Application()
    app.router.add_post("/webhook", failing)
    server = await aiohttp_server(app)
    with pytest.raises(ClientResponseError):
        await EndpointConfig(url=str(server.make_url("/webhook"))).request(json={}, method="post")


class GraphProcessor:
    """The parts of a MessageProcessor the two patched methods use; the graph is slow and records its thread."""

    http_interpreter = None
    on_circuit_break = None
    nlg = None

    def __init__(self, predictions: list) -> None:
        self.threads: list[str] = []
        self.predictions = predictions
        self.actions: list[str] = []

    def _parse_message_with_graph(self, message, tracker, only_output_properties=True) -> dict:
        self.threads.append(threading.current_thread().name)
        time.sleep(0.3)
        return {"text": message.text, "intent": {"name": "greet", "confidence": 0.9}, "entities": []}

    def _update_full_retrieval_intent(self, parse_data: dict) -> None:
        parse_data["updated"] = True

    def _check_for_unseen_features(self, parse_data: dict) -> None:
        parse_data["checked"] = True

    def _should_handle_message(self, tracker) -> bool:
        return True

    def predict_next_with_tracker_if_should(self, tracker):
        self.threads.append(threading.current_thread().name)
        time.sleep(0.1)
        step = self.predictions.pop(0)
        if step is None:
            raise ActionLimitReached("too many")
        return step, PolicyPrediction([1.0], "RulePolicy")

    async def _run_action(self, action, tracker, output_channel, nlg, prediction) -> bool:
        self.actions.append(action)
        return action != "action_listen"


async def ticks_while(coroutine) -> tuple:
    """Run `coroutine` while another task counts event-loop turns every 10 ms."""
    count = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal count
        while not done.is_set():
            count += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    result = await coroutine
    done.set()
    await task
    return result, count


async def test_the_graph_runs_on_its_thread_while_the_loop_keeps_serving() -> None:
    from rasa.core.channels.channel import UserMessage

    fake = GraphProcessor([])
    data, ticks = await ticks_while(MessageProcessor.parse_message(fake, UserMessage("xin chào", sender_id="u1")))
    assert data == {"text": "xin chào", "intent": {"name": "greet", "confidence": 0.9}, "entities": [],
                    "updated": True, "checked": True}
    assert fake.threads == ["rasa-graph_0"]
    assert ticks >= 10  # 300 ms of graph work; the loop turned all along (it would be 1 on the loop)


async def test_the_prediction_loop_runs_actions_in_order_until_listen() -> None:
    fake = GraphProcessor(["action_triage", "utter_x", "action_listen"])
    _, ticks = await ticks_while(MessageProcessor._run_prediction_loop(fake, None, object()))
    assert fake.actions == ["action_triage", "utter_x", "action_listen"]
    assert set(fake.threads) == {"rasa-graph_0"} and len(fake.threads) == 3
    assert ticks >= 10


async def test_the_circuit_breaker_still_stops_the_loop() -> None:
    broke: list[str] = []
    fake = GraphProcessor(["utter_x", None])
    fake.on_circuit_break = lambda tracker, channel, nlg: broke.append("broken")
    await MessageProcessor._run_prediction_loop(fake, None, SimpleNamespace(sender_id="u1"))
    assert fake.actions == ["utter_x"] and broke == ["broken"]
