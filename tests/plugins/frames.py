"""
Every frame a consumer sends or carries out is checked against the AsyncAPI
document (tests/protocol.py); a test in which one does not match fails.
"""

import pytest


@pytest.fixture(scope="session", autouse=True)
def frame_checker():
    """Every frame a consumer sends or carries out, checked against the AsyncAPI document (tests/protocol.py)."""
    from chat.sockets.base import Consumer
    from tests.protocol import FrameChecker

    checker = FrameChecker()
    original_send, original_receive = Consumer.send, Consumer.receive

    async def send(self, text_data=None, bytes_data=None, close=False):
        if text_data is not None:
            checker.check_sent(self, text_data)
        await original_send(self, text_data=text_data, bytes_data=bytes_data, close=close)

    async def receive(self, text_data=None, bytes_data=None):
        await checker.check_received(self, text_data, lambda: original_receive(self, text_data, bytes_data))

    Consumer.send, Consumer.receive = send, receive
    yield checker
    Consumer.send, Consumer.receive = original_send, original_receive


@pytest.fixture(autouse=True)
def frames_follow_the_protocol_document(frame_checker):
    """Fails the test in which a consumer sent a frame the AsyncAPI document does not describe."""
    before = len(frame_checker.failures)
    yield
    if failures := frame_checker.failures[before:]:
        pytest.fail("Frames that do not match the AsyncAPI document:\n" + "\n".join(failures[:10]))
