"""The OpenAI-compatible (vLLM server) backend against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import socket

import pytest

from goalconvo.core.settings import Settings
from goalconvo.devtools.openai_stub import OpenAIStubServer
from goalconvo.llm import ChatMessage, GenerationParams, LLMError, create_backend
from goalconvo.llm.vllm_server import VLLMServerBackend

MSGS = [ChatMessage("system", "You are a customer"), ChatMessage("user", "hello")]


def _backend(srv: OpenAIStubServer, **kw) -> VLLMServerBackend:
    kw.setdefault("retries", 3)
    kw.setdefault("backoff_s", 0.01)
    return VLLMServerBackend([srv.base_url], **kw)


def _closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/v1"


def test_discovers_model_and_counts_usage():
    async def go():
        async with OpenAIStubServer(model="my-7b") as srv:
            b = _backend(srv)
            try:
                c = await b.complete(MSGS, GenerationParams(max_tokens=20, seed=3, stop=("\n",)))
            finally:
                await b.close()
            return b, c

    b, c = asyncio.run(go())
    assert b.model_name == "vllm:my-7b"
    assert c.text and c.prompt_tokens > 0 and c.completion_tokens > 0


@pytest.mark.parametrize("fault", ["500", "429", "garbage", "timeout", "drop"])
def test_transient_faults_are_retried(fault: str):
    async def go():
        async with OpenAIStubServer(hang_s=2.0) as srv:
            srv.fault_queue = [fault, fault]
            b = _backend(srv, model="m", timeout_s=0.5)
            try:
                c = await b.complete(MSGS, GenerationParams())
            finally:
                await b.close()
            return c, b.stats, srv.stats

    c, stats, srv_stats = asyncio.run(go())
    assert c.text
    assert stats.retries == 2 and stats.attempts == 3 and srv_stats.faults[fault] == 2


def test_persistent_fault_fails_with_the_reason_after_the_retries():
    async def go():
        async with OpenAIStubServer() as srv:
            srv.fault_queue = ["500"] * 10
            b = _backend(srv, model="m", retries=2)
            try:
                with pytest.raises(LLMError) as err:
                    await b.complete(MSGS, GenerationParams())
            finally:
                await b.close()
            return str(err.value), srv.stats.requests

    msg, requests = asyncio.run(go())
    assert requests == 3
    assert "after 3 attempts" in msg and "HTTP 500" in msg and "injected server error" in msg


def test_client_errors_fail_at_once_with_the_servers_message():
    async def go():
        async with OpenAIStubServer() as srv:
            b = VLLMServerBackend([srv.base_url], model="", retries=3)  # empty model: the stub answers 400
            b.model = ""
            try:
                with pytest.raises(LLMError) as err:
                    await b.complete(MSGS, GenerationParams())
            finally:
                await b.close()
            return str(err.value), srv.stats.requests

    msg, requests = asyncio.run(go())
    assert requests == 1, "a 400 is not retried"
    assert "HTTP 400" in msg and "messages and model are required" in msg


def test_a_dead_replica_is_skipped_and_in_flight_stays_under_the_limit():
    async def go():
        async with OpenAIStubServer(delay_s=0.05) as srv:
            b = VLLMServerBackend([_closed_port_url(), srv.base_url], model="m", max_in_flight=5, backoff_s=0.01)
            try:
                out = await asyncio.gather(*(b.complete(MSGS, GenerationParams()) for _ in range(40)))
            finally:
                await b.close()
            return out, b.stats, srv.stats

    out, stats, srv_stats = asyncio.run(go())
    assert len(out) == 40 and all(c.text for c in out)
    assert stats.failures == 0 and stats.retries >= 1
    assert srv_stats.peak_in_flight == 5, "five in flight at once, never more"
    assert stats.peak_in_flight <= 5


def test_structured_output_is_requested_as_a_json_schema():
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    seen = {}

    def reply(messages, body):
        seen.update(body)
        return '{"x": 1}'

    async def go():
        async with OpenAIStubServer(reply=reply) as srv:
            b = _backend(srv, model="m")
            try:
                return await b.complete(MSGS, GenerationParams(json_schema=schema, seed=7))
            finally:
                await b.close()

    c = asyncio.run(go())
    assert c.text == '{"x": 1}'
    assert seen["response_format"] == {"type": "json_schema", "json_schema": {"name": "goalconvo", "schema": schema, "strict": True}}
    assert seen["seed"] == 7 and seen["model"] == "m"


def test_no_server_and_no_model_is_a_clear_error():
    async def go():
        b = VLLMServerBackend([_closed_port_url()], None)
        with pytest.raises(LLMError) as err:
            await b.start()
        return str(err.value)

    msg = asyncio.run(go())
    assert "no --model given" in msg and "ClientConnectorError" in msg


def test_create_backend_builds_the_vllm_backend_from_settings():
    s = Settings(llm="vllm", llm_urls="http://a:1/v1, http://b:2/v1/", model="m", max_in_flight=7, llm_retries=1)
    b = create_backend(s)
    assert isinstance(b, VLLMServerBackend)
    assert b.urls == ["http://a:1/v1", "http://b:2/v1"] and b.max_in_flight == 7 and b.retries == 1


def test_an_unreachable_server_is_waited_for_within_the_outage_window():
    async def go():
        srv = OpenAIStubServer()
        await srv.start()
        port = srv.port
        await srv.stop()  # gone: connections refused
        b = VLLMServerBackend([srv.base_url], model="m", retries=1, backoff_s=0.05, backoff_max_s=0.2, outage_s=30)
        call = asyncio.create_task(b.complete(MSGS, GenerationParams()))
        await asyncio.sleep(1.0)
        back = OpenAIStubServer(port=port)
        await back.start()  # back on the same port
        try:
            c = await asyncio.wait_for(call, 10)
        finally:
            await back.stop()
        impatient = VLLMServerBackend([srv.base_url], model="m", retries=1, backoff_s=0.01, outage_s=0)
        with pytest.raises(LLMError) as err:
            await impatient.complete(MSGS, GenerationParams())
        await b.close()
        await impatient.close()
        return c, b.stats, str(err.value)

    c, stats, msg = asyncio.run(go())
    assert c.text and stats.retries >= 3 and stats.failures == 0
    assert "after 2 attempts" in msg and "connection failed" in msg
