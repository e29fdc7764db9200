"""The judge decides alone: it honours one check session per graded cell, answers any
bytes calmly, and lends the reference cell function only to the sequence case it runs."""

import contextlib
import json
import socket
import struct

import nbformat
import numpy as np
import pytest
from conftest import same

from rnn_solutions.engine import execute, judge, stepwise
from rnn_solutions.engine import kernel_client as client
from rnn_solutions.engine.spec import example
from rnn_solutions.rnn_step_by_step import rnn
from rnn_solutions.rnn_step_by_step.spec import RNN, SPEC


@pytest.fixture
def court():
    """A judge listening, and a way to connect to it as a kernel would."""
    j = judge.Judge(RNN)
    client.ADDRESS = j.address
    yield j
    j.close()


def connect(j):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(j.address)
    sock.settimeout(10)
    return sock


def reference_check(grade_id, fn):
    """The kernel client's check, run here; returns its verdict line or raises."""
    client.check(grade_id, fn)


def test_a_correct_function_passes_inside_its_window(court):
    """In its cell's window, the reference function's outputs earn a passing verdict."""
    court.open("test_rnn_cell_forward_values")
    reference_check("test_rnn_cell_forward_values", rnn.rnn_cell_forward)
    court.end()
    assert court.verdict("test_rnn_cell_forward_values")[0] is True
    assert court.forgeries == []


def test_keyword_calls_of_the_stand_in_are_accepted(court):
    """A sequence function calling the cell function by keywords is judged like by position."""
    def _forward(x, h0, parameters):
        # rnn_cell_forward is the judge's stand-in, put in this module's globals by check
        h_next, h, y, caches = h0, [], [], []
        for t in range(x.shape[2]):
            h_next, yt, cache = rnn_cell_forward(xt=x[:, :, t], h_prev=h_next,  # noqa: F821
                                                 parameters=parameters)
            h.append(h_next), y.append(yt), caches.append(cache)
        return np.stack(h, axis=2), np.stack(y, axis=2), (caches, x)

    court.open("test_rnn_forward_values")
    reference_check("test_rnn_forward_values", _forward)
    court.end()
    assert court.verdict("test_rnn_forward_values")[0] is True


@pytest.mark.parametrize("when", ["no window", "another cell's window"])
def test_a_session_outside_its_window_is_refused_and_recorded(court, when):
    """A check for a cell that is not running gets no verdict and is named a forgery."""
    if when == "another cell's window":
        court.open("test_rnn_forward_values")
    with pytest.raises(AssertionError, match="refused"):
        reference_check("test_rnn_cell_forward_values", rnn.rnn_cell_forward)
    assert court.verdict("test_rnn_cell_forward_values") is None
    assert len(court.forgeries) == 1


def test_a_second_session_in_one_window_is_refused(court):
    """Only the first check session of a window counts; a second is a forgery."""
    court.open("test_rnn_cell_forward_values")
    reference_check("test_rnn_cell_forward_values", rnn.rnn_cell_forward)
    with pytest.raises(AssertionError, match="refused"):
        reference_check("test_rnn_cell_forward_values", rnn.rnn_cell_forward)
    assert "second check session" in court.forgeries[0]


def test_verdicts_claimed_by_the_kernel_are_ignored(court):
    """A kernel that says "passed" without sending outputs earns nothing."""
    court.open("test_rnn_cell_forward_values")
    with connect(court) as sock:
        client.send(sock, {"op": "check", "grade_id": "test_rnn_cell_forward_values"})
        client.recv(sock)
        client.send(sock, {"passed": True, "message": "all good"})
        assert "error" in client.recv(sock)
    court.end()
    assert court.verdict("test_rnn_cell_forward_values") is None
    assert court.forgeries


def test_cell_functions_get_no_stand_in(court):
    """During a cell function's check, asking for the reference is refused (no oracle)."""
    court.open("test_rnn_cell_forward_values")
    with connect(court) as sock:
        client.send(sock, {"op": "check", "grade_id": "test_rnn_cell_forward_values"})
        plan = client.recv(sock)
        assert plan["helper"] is None
        args = client.decode(plan["cases"][0])
        client.send(sock, {"op": "helper", "args": client.encode(args)})
        assert "error" in client.recv(sock)
    assert "sent 'helper'" in court.forgeries[0]


def test_stand_in_answers_only_the_steps_of_the_running_case(court):
    """The sequence check's stand-in refuses inputs that are not a step of its case."""
    court.open("test_rnn_forward_values")
    with connect(court) as sock:
        client.send(sock, {"op": "check", "grade_id": "test_rnn_forward_values"})
        plan = client.recv(sock)
        x, h0, parameters = client.decode(plan["cases"][0])
        step = [x[:, :, 1], h0, parameters]
        client.send(sock, {"op": "helper", "args": client.encode(step)})
        reply = client.recv(sock)
        expected = rnn.rnn_cell_forward(*step)[0]
        assert np.allclose(client.decode(reply["output"])[0], expected)
        other = [x[:, :, 1] + 1, h0, parameters]
        client.send(sock, {"op": "helper", "args": client.encode(other)})
        assert "not x[:, :, t]" in client.recv(sock)["error"]


def test_stand_in_refuses_past_its_budget(court):
    """The stand-in answers at most CALLS_PER_STEP calls per time step of the case."""
    court.open("test_rnn_forward_values")
    with connect(court) as sock:
        client.send(sock, {"op": "check", "grade_id": "test_rnn_forward_values"})
        x, h0, parameters = client.decode(client.recv(sock)["cases"][0])
        replies = []
        for _ in range(stepwise.CALLS_PER_STEP * x.shape[2] + 1):
            client.send(sock, {"op": "helper", "args": client.encode([x[:, :, 0], h0,
                                                                     parameters])})
            replies.append(client.recv(sock))
    assert all("output" in r for r in replies[:-1])
    assert "more often than the case needs" in replies[-1]["error"]


def raw_frame(data, raw=b""):
    """A message as the wire carries it, whatever its JSON and its arrays' bytes."""
    return struct.pack(">II", len(data), len(raw)) + data + raw


MALFORMED = {
    "not an object": raw_frame(b"[1, 2, 3]"),
    "empty": raw_frame(b""),
    "null": raw_frame(b"null"),
    "deeply nested": raw_frame(b"[" * 100000 + b"]" * 100000),
    "not JSON": raw_frame(bytes([255, 254])),
    "wrong types": raw_frame(b'{"op": "check", "grade_id": {"a": 1}}'),
    "bytes no array holds": raw_frame(b'{"op": "check", "grade_id": "x"}', bytes(8)),
    "an array as the message": raw_frame(b'{"nd": [1]}', bytes(8)),
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_messages_are_answered_calmly(court, data):
    """Any bytes get an error reply or a closed connection, and the judge keeps serving."""
    # the judge may close before the last bytes are sent: a closed connection is an answer
    with connect(court) as sock, contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)
        sock.recv(100)
    court.open("test_rnn_cell_forward_structure")
    reference_check("test_rnn_cell_forward_structure", rnn.rnn_cell_forward)
    assert court.verdict("test_rnn_cell_forward_structure")[0] is True


@pytest.mark.parametrize("output", [{"nd": "!!", "shape": [-1]}, {"nd": [2, 3]}],
                         ids=["not an array", "bytes missing"])
def test_malformed_arrays_inside_a_session_fail_the_case_not_the_judge(court, output):
    """Arrays that do not decode are read as unreadable outputs, and the verdict fails."""
    court.open("test_rnn_cell_forward_structure")
    with connect(court) as sock:
        client.send(sock, {"op": "check", "grade_id": "test_rnn_cell_forward_structure"})
        plan = client.recv(sock)
        for _ in plan["cases"]:
            client.send(sock, {"op": "result", "output": output, "args_after": {"list": []}})
        client.send(sock, {"op": "done"})
        verdict = client.recv(sock)
    assert verdict["passed"] is False
    assert court.verdict("test_rnn_cell_forward_structure")[0] is False


def test_oversized_message_is_refused(court):
    """Lengths past MAX_MESSAGE in all are refused without reading the message."""
    with connect(court) as sock:
        sock.sendall(struct.pack(">II", judge.MAX_MESSAGE, 1))
        assert b"refused" in sock.recv(100)


def test_in_place_update_is_not_hinted_as_a_cache_order_mistake():
    """An rnn_cell_forward writing h_next into h_prev is told so, not that its cache is
    in another order."""
    def in_place(xt, h_prev, parameters):
        h_next, yt_pred, _ = rnn.rnn_cell_forward(xt, h_prev, parameters)
        h_prev[...] = h_next
        return h_prev, yt_pred, (h_prev, h_prev, xt, parameters)

    case = example(SPEC, "rnn_cell_forward")
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in case.inputs.values()]
    found = RNN.problems("rnn_cell_forward", "values", case, in_place(*args), args,
                             "example")
    assert any("modified in place" in p for p in found)
    assert not any("another order" in p for p in found)


# ---- the wire format --------------------------------------------------------------------------

VALUES = {
    "array": np.arange(6.0).reshape(2, 3),
    "empty array": np.zeros((0, 4)),
    "number": 2.5,
    "nested": {"h": [np.ones((2, 1)), (np.eye(2), 3.0)], "b": {"c": np.array([1.0, -2.0])}},
}


def carried(value, send, receive):
    """`value` sent by one side's `send` and read by the other's `receive`."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        send(ours, {"value": value})
        return receive(theirs)["value"]


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_what_the_kernel_sends_the_judge_reads_back(value):
    """The client's encoding decodes, on the judge's side, to the same values and kinds."""
    assert same(judge.decode(carried(client.encode(value), client.send, judge.recv)), value)


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_what_the_judge_sends_the_kernel_reads_back(value):
    """The judge's encoding decodes, in the kernel, to the same values and kinds."""
    assert same(client.decode(carried(judge.encode(value), judge.send, client.recv)), value)


def test_each_array_read_is_its_own():
    """The arrays the judge reads are writable and share no byte: writing one changes no
    other (they are views of one buffer, each of its own bytes)."""
    a, b = judge.decode(carried(client.encode([np.zeros(3), np.zeros(3)]), client.send,
                                judge.recv))
    a[:] = 1.0
    assert b.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("node, raw", [
    ({"nd": "AAAA"}, b""), ({"nd": [3]}, bytes(16)), ({"nd": [-1, 0]}, b""),
    ({"nd": [2 ** 32, 2 ** 32]}, b""), ({"nd": [1.5]}, bytes(8)), ({"nd": [True]}, bytes(8)),
    ({"nd": [1], "shape": [1]}, b""),
], ids=["shape not a list", "bytes missing", "negative size", "overflowing shape",
        "size not an integer", "size a boolean", "too many keys"])
def test_unreadable_arrays_read_as_opaque(node, raw):
    """An array whose shape is no list of sizes, or whose bytes are missing, is read as
    Opaque and takes no bytes (what is left over refuses the message)."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.sendall(raw_frame(json.dumps({"value": node}).encode(), raw))
        if raw:
            with pytest.raises(ValueError, match="no array"):
                judge.recv(theirs)
        else:
            assert isinstance(judge.recv(theirs)["value"], judge.Opaque)


@pytest.mark.parametrize("message", [
    {"other": "str"}, "text", {"a": 1, "b": 2, "c": 3}, {"float": "x"},
], ids=["other type", "not a dict", "too many keys", "not a number"])
def test_unreadable_values_decode_to_opaque(message):
    """Whatever the kernel sends that is no array, dict, list or number becomes Opaque."""
    assert isinstance(judge.decode(message), judge.Opaque)


# ---- verdicts applied to the notebook ----------------------------------------------------------

def graded_cell(grade_id, outputs=()):
    """A graded test cell with the given outputs."""
    cell = nbformat.v4.new_code_cell(f"_judge.check({grade_id!r}, fn)", outputs=list(outputs))
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": grade_id,
                                 "points": 2}
    return cell


class FixedVerdicts:
    """A stand-in for the judge with verdicts already decided."""

    def __init__(self, verdicts):
        self.verdicts = verdicts

    def verdict(self, grade_id):
        return self.verdicts.get(grade_id)


def applied(cell, verdict=None):
    """The cell after apply_verdicts, with `verdict` for its grade id."""
    nb = nbformat.v4.new_notebook(cells=[cell])
    verdicts = {} if verdict is None else {cell.metadata["nbgrader"]["grade_id"]: verdict}
    execute.apply_verdicts(nb, FixedVerdicts(verdicts), timeout=30)
    return nb.cells[0]


def test_passing_cell_keeps_its_outputs_and_stderr_becomes_stdout():
    """A passing verdict leaves the cell as it ran, its stderr moved to stdout."""
    stream = nbformat.v4.new_output("stream", name="stderr", text="a warning\n")
    cell = applied(graded_cell("test_rnn_forward_values", [stream]), (True, "passed"))
    assert [o.output_type for o in cell.outputs] == ["stream"]
    assert cell.outputs[0].name == "stdout"


def test_failing_verdict_puts_the_judges_message_first():
    """A failing verdict becomes the cell's first output, an error, whatever it printed."""
    printed = nbformat.v4.new_output("stream", name="stdout", text="all good!\n")
    cell = applied(graded_cell("test_rnn_forward_values", [printed]), (False, "h is wrong"))
    assert cell.outputs[0].output_type == "error"
    assert cell.outputs[0].evalue == "h is wrong"


def test_cell_without_verdict_fails_saying_the_checks_did_not_run():
    """No verdict (the cell stopped early, or its window saw no honest session) fails it."""
    cell = applied(graded_cell("test_rnn_forward_values"))
    assert cell.outputs[0].ename == "HiddenChecksFailed"
    assert "did not run" in cell.outputs[0].evalue


def test_timed_out_cell_says_it_timed_out():
    """A cell interrupted by the timeout says so, with the timeout."""
    timeout = nbformat.v4.new_output("error", ename="CellTimeoutError", evalue="",
                                     traceback=[])
    cell = applied(graded_cell("test_rnn_forward_values", [timeout]))
    assert "timed out: the cell did not finish within 30 s" in cell.outputs[0].evalue


def test_cell_that_killed_its_kernel_keeps_its_own_reason():
    """A cell already marked KernelDied is left with that reason alone."""
    died = nbformat.v4.new_output("error", ename="KernelDied", evalue="died", traceback=[])
    cell = applied(graded_cell("test_rnn_forward_values", [died]))
    assert [o.ename for o in cell.outputs] == ["KernelDied"]


def test_ungraded_cells_are_left_alone():
    """Cells that are not graded test cells get no verdict applied."""
    cell = nbformat.v4.new_code_cell("print(1)")
    nb = nbformat.v4.new_notebook(cells=[cell])
    execute.apply_verdicts(nb, FixedVerdicts({}), timeout=30)
    assert nb.cells[0].outputs == []


# ---- limits, and unusual but correct answers -----------------------------------------------------

def test_too_many_connections_at_once_are_refused(court):
    """Past MAX_CONNECTIONS open connections, the next is refused and recorded."""
    held = [connect(court) for _ in range(judge.MAX_CONNECTIONS)]
    with connect(court) as extra:
        assert b"refused" in extra.recv(100)
    for sock in held:
        sock.close()
    assert any("connections at once" in f for f in court.forgeries)


def test_large_first_message_is_refused_unread(court):
    """A session's first message is a few words; a larger one is refused."""
    court.open("test_rnn_cell_forward_values")
    with connect(court) as sock:
        client.send(sock, {"op": "check", "grade_id": "x" * judge.MAX_REQUEST})
        assert "error" in client.recv(sock)
    assert court.forgeries


def test_stand_in_stops_answering_when_the_cell_ends(court):
    """After its cell's window closes, a session gets no more reference answers."""
    court.open("test_rnn_forward_values")
    with connect(court) as sock:
        client.send(sock, {"op": "check", "grade_id": "test_rnn_forward_values"})
        x, h0, parameters = client.decode(client.recv(sock)["cases"][0])
        court.end()
        client.send(sock, {"op": "helper", "args": client.encode([x[:, :, 0], h0, parameters])})
        assert sock.recv(100) == b""  # closed, no answer


def test_gradients_in_an_ordered_dict_pass():
    """Any mapping of gradients is a right answer, not only a plain dict."""
    from collections import OrderedDict

    RNN.check("rnn_cell_backward", lambda dh_next, cache: OrderedDict(
        rnn.rnn_cell_backward(dh_next, cache)), "values")


def test_stand_in_takes_the_students_own_parameter_names():
    """A sequence function calling its cell function by keyword, with the names the student
    gave that function's parameters, is judged like a call by position."""
    namespace = {"np": np}
    exec("def rnn_cell_forward(x_t, a_prev, params):\n    raise ValueError('not used')\n"
         "def rnn_forward(x, h0, parameters):\n"
         "    h, y, caches, h_next = [], [], [], h0\n"
         "    for t in range(x.shape[2]):\n"
         "        h_next, yt, cache = rnn_cell_forward(x_t=x[:, :, t], a_prev=h_next,\n"
         "                                             params=parameters)\n"
         "        h.append(h_next), y.append(yt), caches.append(cache)\n"
         "    return np.stack(h, axis=2), np.stack(y, axis=2), (caches, x)\n", namespace)
    RNN.check("rnn_forward", namespace["rnn_forward"], "values")


def test_closing_the_judge_ends_its_accept_thread():
    """A closed judge leaves no thread behind (one per graded notebook would pile up)."""
    court = judge.Judge(RNN)
    court.close()
    court.acceptor.join(timeout=5)
    assert not court.acceptor.is_alive()


def test_a_cell_of_an_undeclared_exercise_is_an_error(court):
    """A graded cell whose exercise the declaration lacks stops grading with a clear
    error (nbgrader then reports the submission), not a silent zero."""
    with pytest.raises(RuntimeError, match="declares no such exercise"):
        court.open("test_lstm_forward_values")


@pytest.fixture
def tcp_court(monkeypatch):
    """A judge on a loopback port (sandbox mode "landlock"), the client holding its token."""
    j = judge.Judge(RNN, tcp=True)
    monkeypatch.setattr(client, "ADDRESS", j.address)
    monkeypatch.setattr(client, "TOKEN", j.token)
    yield j
    j.close()


def test_on_a_tcp_port_the_kernels_client_is_served(tcp_court):
    """The client sends the judge's token first, then checks as over a Unix socket."""
    tcp_court.open("test_rnn_cell_forward_values")
    reference_check("test_rnn_cell_forward_values", rnn.rnn_cell_forward)
    assert tcp_court.verdict("test_rnn_cell_forward_values")[0] is True
    assert tcp_court.forgeries == []


@pytest.mark.parametrize("token", [b"", b"0" * 32], ids=["none", "wrong"])
def test_on_a_tcp_port_a_stranger_is_closed_and_not_recorded(tcp_court, token):
    """Bytes from a connection without the token (any process of the machine may reach a
    loopback port: a ZeroMQ client whose kernel's port the judge took, say) are not the
    kernel's: the connection is closed unanswered, nothing is recorded against the
    student, and the judge keeps serving."""
    with socket.create_connection(tcp_court.address, timeout=10) as sock, \
            contextlib.suppress(ConnectionResetError):
        sock.sendall(token + raw_frame(b"[1, 2, 3]"))
        assert sock.recv(100) == b""
    assert tcp_court.forgeries == []
    tcp_court.open("test_rnn_cell_forward_values")
    reference_check("test_rnn_cell_forward_values", rnn.rnn_cell_forward)
    assert tcp_court.verdict("test_rnn_cell_forward_values")[0] is True


def test_on_a_tcp_port_the_kernels_own_garbage_is_recorded(tcp_court):
    """Malformed bytes after the right token came from the kernel: recorded, refused."""
    with socket.create_connection(tcp_court.address, timeout=10) as sock:
        sock.sendall(tcp_court.token + raw_frame(b"[1, 2, 3]"))
        assert b"refused" in sock.recv(100)
    assert tcp_court.forgeries == ["sent a message the judge does not understand (ValueError)"]
