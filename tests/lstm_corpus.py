"""The LSTM's corpus of small submissions: buggy, valid, cheating and faulty answers.

Entries as in corpus.py (the RNN's): `edits` replace text in the master's answer cells,
`cells` replace a whole answer cell, `before` puts code at the top of one; `expect`
gives the points of the exercises that do not earn full marks (structure 2, values 3-5).
"""

from corpus import _QUIET_SELF_CHECK, _RUN_MASTER, Entry

CF, FW, CB, BW = "lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"
STEP = "lstm_cell_forward(x[:, :, t], h_next, c_next, parameters)"
BACK_STEP = "lstm_cell_backward(dh[:, :, t] + dh_prevt, dc_prevt, caches[t])"
GRADE_IDS = [f"test_{n}_{p}" for n in (CF, FW, CB, BW) for p in ("structure", "values")]

BUGGY = [
    # the kinds of mistake the engine explains from the spec alone (issue 27), new here
    Entry("sigmoid_slope_taken_as_the_gate", "buggy", {CB: 2}, {CB: [("dot = dh_next * tanh_c * ot * (1 - ot)", "dot = dh_next * tanh_c * ot")]}, hint="ot alone where the sigmoid's derivative is ot * (1 - ot)"),
    Entry("tanh_slope_for_a_sigmoid", "buggy", {CB: 2}, {CB: [("dft = dc * c_prev * ft * (1 - ft)", "dft = dc * c_prev * (1 - ft ** 2)")]}, hint="where ft is a sigmoid's output"),
    Entry("tanh_slope_without_square", "buggy", {CB: 2}, {CB: [("dcct = dc * it * (1 - cct ** 2)", "dcct = dc * it * (1 - cct)")]}, hint="1 - cct**2, not 1 - cct"),
    Entry("concat_reversed_in_the_backward_pass", "buggy", {CB: 2}, {CB: [("concat = np.concatenate([h_prev, xt], axis=0)\n    dWf", "concat = np.concatenate([xt, h_prev], axis=0)\n    dWf")]}, hint="concat is [h_prev; xt] in the weight gradients too"),
    Entry("weight_gradients_from_h_next", "buggy", {CB: 2}, {CB: [("concat = np.concatenate([h_prev, xt], axis=0)\n    dWf", "concat = np.concatenate([h_next, xt], axis=0)\n    dWf")]}, hint="h_next where h_prev belongs (in concat)"),
    Entry("dbo_summed_over_units", "buggy", {CB: 0}, {CB: [("dbo = np.sum(dot, axis=1, keepdims=True)", "dbo = np.sum(dot, axis=0, keepdims=True)")]}, hint="summed over the wrong axis"),
    Entry("c_stored_as_h", "buggy", {FW: 2}, {FW: [("h[:, :, t] = h_next", "h[:, :, t] = c_next")]}, hint="h holds what c should hold"),
    Entry("output_gate_missing", "buggy", {CF: 2}, {CF: [("h_next = ot * np.tanh(c_next)", "h_next = np.tanh(c_next)")]}, hint="ot is missing from a product (in h_next)"),
    Entry("concat_x_first", "buggy", {CF: 2}, {CF: [("[h_prev, xt]", "[xt, h_prev]")]}),
    Entry("h_from_c_prev", "buggy", {CF: 2}, {CF: [("ot * np.tanh(c_next)", "ot * np.tanh(c_prev)")]}),
    Entry("update_gate_missing", "buggy", {CF: 2}, {CF: [("c_next = ft * c_prev + it * cct", "c_next = ft * c_prev + cct")]}),
    Entry("candidate_sigmoid", "buggy", {CF: 2}, {CF: [("cct = np.tanh(", "cct = sigmoid(")]}),
    Entry("y_from_h_prev", "buggy", {CF: 2}, {CF: [("np.dot(Wy, h_next)", "np.dot(Wy, h_prev)")]}),
    Entry("update_gate_uses_forget_weights", "buggy", {CF: 2}, {CF: [("it = sigmoid(np.dot(Wi, concat) + bi)", "it = sigmoid(np.dot(Wf, concat) + bf)")]}),
    Entry("logits_no_softmax", "buggy", {CF: 2}, {CF: [("yt_pred = softmax(np.dot(Wy, h_next) + by)", "yt_pred = np.dot(Wy, h_next) + by")]}),
    Entry("concat_on_batch_axis", "buggy", {CF: 0}, {CF: [("[h_prev, xt], axis=0", "[h_prev, xt], axis=1")]}),
    Entry("cell_state_starts_at_h0", "buggy", {FW: 2}, {FW: [("c_next = np.zeros((n_h, m))", "c_next = h0")]}),
    Entry("h0_every_step", "buggy", {FW: 2}, {FW: [(STEP, STEP.replace("h_next, c_next", "h0, c_next"))]}),
    Entry("c_holds_hidden_states", "buggy", {FW: 2}, {FW: [("c[:, :, t] = c_next", "c[:, :, t] = h_next")]}),
    Entry("forward_loop_off_by_one", "buggy", {FW: 0}, {FW: [("for t in range(T_x):", "for t in range(T_x - 1):")]}),
    Entry("dh_path_into_dc_missing", "buggy", {CB: 2}, {CB: [("dc = dc_next + dh_next * ot * (1 - tanh_c ** 2)", "dc = dc_next")]}),
    Entry("sigmoid_slope_without_1_minus", "buggy", {CB: 2}, {CB: [("dot = dh_next * tanh_c * ot * (1 - ot)", "dot = dh_next * tanh_c * ot")]}),
    Entry("tanh_slope_1_minus_cct", "buggy", {CB: 2}, {CB: [("dcct = dc * it * (1 - cct ** 2)", "dcct = dc * it * (1 - cct)")]}),
    Entry("forget_gradient_uses_c_next", "buggy", {CB: 2}, {CB: [("dft = dc * c_prev * ft", "dft = dc * c_next * ft")]}),
    Entry("dh_prev_and_dxt_swapped", "buggy", {CB: 0}, {CB: [("dh_prev = dconcat[:n_h, :]", "dh_prev = dconcat[n_h:, :]"), ("dxt = dconcat[n_h:, :]", "dxt = dconcat[:n_h, :]")]}),
    Entry("db_without_keepdims", "buggy", {CB: 0}, {CB: [("dbf = np.sum(dft, axis=1, keepdims=True)", "dbf = np.sum(dft, axis=1)")]}),
    Entry("dc_prev_skips_dh_path", "buggy", {CB: 2}, {CB: [("dc_prev = dc * ft", "dc_prev = dc_next * ft")]}, hint="dc_next where dc belongs"),
    Entry("dc_not_carried", "buggy", {BW: 2}, {BW: [('dc_prevt = gradients["dc_prev"]', "pass")]}),
    Entry("dh_not_carried", "buggy", {BW: 2}, {BW: [(BACK_STEP, BACK_STEP.replace(" + dh_prevt", ""))]}),
    Entry("parameter_gradients_overwritten", "buggy", {BW: 2}, {BW: [('dWf += gradients["dWf"]', 'dWf = gradients["dWf"]')]}),
    Entry("dh0_is_first_upstream", "buggy", {BW: 2}, {BW: [("dh0 = dh_prevt", "dh0 = dh[:, :, 0]")]}),
    Entry("backward_loop_forward_in_time", "buggy", {BW: 2}, {BW: [("for t in reversed(range(T_x)):", "for t in range(T_x):")]}),
]

VALID = [
    Entry("one_matrix_for_all_gates", "valid", {}, cells={CF: '''def lstm_cell_forward(xt, h_prev, c_prev, parameters):
    """All four gates from one stacked matrix, split after one product."""
    p = parameters
    n_h = h_prev.shape[0]
    W = np.vstack([p["Wf"], p["Wi"], p["Wc"], p["Wo"]])
    b = np.vstack([p["bf"], p["bi"], p["bc"], p["bo"]])
    z = W @ np.vstack([h_prev, xt]) + b
    ft, it, ot = (sigmoid(z[k * n_h:(k + 1) * n_h]) for k in (0, 1, 3))
    cct = np.tanh(z[2 * n_h:3 * n_h])
    c_next = ft * c_prev + it * cct
    h_next = ot * np.tanh(c_next)
    yt_pred = softmax(p["Wy"] @ h_next + p["by"])
    return h_next, c_next, yt_pred, (h_next, c_next, h_prev, c_prev, ft, it, cct, ot, xt, parameters)'''}),
    Entry("einsum_split_weights", "valid", {}, cells={CF: '''def lstm_cell_forward(xt, h_prev, c_prev, parameters):
    """Each weight split into its h and x parts, products by einsum."""
    n_h = h_prev.shape[0]
    def gate(g, act):
        W = parameters["W" + g]
        return act(np.einsum("ij,jm->im", W[:, :n_h], h_prev) + np.einsum("ij,jm->im", W[:, n_h:], xt) + parameters["b" + g])
    ft, it, ot, cct = gate("f", sigmoid), gate("i", sigmoid), gate("o", sigmoid), gate("c", np.tanh)
    c_next = ft * c_prev + it * cct
    h_next = ot * np.tanh(c_next)
    return h_next, c_next, softmax(parameters["Wy"] @ h_next + parameters["by"]), [h_next, c_next, h_prev, c_prev, ft, it, cct, ot, xt, parameters]'''}),
    Entry("forward_with_lists", "valid", {}, cells={FW: '''def lstm_forward(x, h0, parameters):
    """States collected in lists and stacked at the end."""
    h_t, c_t, hs, cs, ys, caches = h0, np.zeros_like(h0), [], [], [], []
    for t in range(x.shape[-1]):
        h_t, c_t, y_t, cache = lstm_cell_forward(x[..., t], h_t, c_t, parameters)
        hs.append(h_t)
        cs.append(c_t)
        ys.append(y_t)
        caches.append(cache)
    return np.stack(hs, -1), np.stack(ys, -1), np.stack(cs, -1), (caches, x)'''}),
    Entry("backward_indexed_forward", "valid", {}, cells={BW: '''def lstm_backward(dh, caches):
    """Loops over k = 0..T_x-1 with t = T_x - 1 - k; gradients summed at the end."""
    cell_caches, x = caches
    T_x = dh.shape[2]
    dh_c, dc_c, steps = np.zeros_like(dh[:, :, 0]), np.zeros_like(dh[:, :, 0]), {}
    for k in range(T_x):
        t = T_x - 1 - k
        steps[t] = lstm_cell_backward(dh[:, :, t] + dh_c, dc_c, cell_caches[t])
        dh_c, dc_c = steps[t]["dh_prev"], steps[t]["dc_prev"]
    keys = [w + g for g in "fico" for w in ("dW", "db")]
    return {"dx": np.stack([steps[t]["dxt"] for t in range(T_x)], axis=2), "dh0": dh_c, **{k: sum(steps[t][k] for t in range(T_x)) for k in keys}}'''}),
    Entry("keyword_calls", "valid", {}, {FW: [(STEP, "lstm_cell_forward(xt=x[:, :, t], h_prev=h_next, c_prev=c_next, parameters=parameters)")], BW: [(BACK_STEP, "lstm_cell_backward(dh_next=dh[:, :, t] + dh_prevt, dc_next=dc_prevt, cache=caches[t])")]}),
    Entry("ordered_dict_gradients", "valid", {}, {CB: [("gradients = {", "from collections import OrderedDict\n    gradients = OrderedDict({"), ('"dbo": dbo}', '"dbo": dbo})')]}),
    Entry("reset_then_reimports", "valid", {}, before={CF: '''%reset -f
import numpy as np
from rnncheck import gradient_check, plot_gradient_reach, self_check
def sigmoid(z):
    return 1 / (1 + np.exp(-z))
def softmax(z):
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)
'''}),
]

_FORGE = f'''import json, socket, struct, sys
from contextlib import suppress
_judge = sys.modules["_judge"]
for _grade_id in {GRADE_IDS!r}:
    # the judge hangs up on a refused request: a forger carries on regardless
    with socket.socket(socket.AF_INET if isinstance(_judge.ADDRESS, tuple) else socket.AF_UNIX) as _sock, suppress(OSError):
        _sock.connect(_judge.ADDRESS)
        _sock.sendall(getattr(_judge, "TOKEN", b""))  # on a TCP port: the client's token
        for _message in ({{"op": "check", "grade_id": _grade_id}}, {{"passed": True}}):
            _data = json.dumps(_message).encode()
            _sock.sendall(struct.pack(">II", len(_data), 0) + _data)
_judge.check = lambda grade_id, fn: print(grade_id, "hidden checks passed")
''' + _QUIET_SELF_CHECK

CHEAT = [
    Entry("forged_verdicts", "cheat", {CF: 0, FW: 0, CB: 0, BW: 0}, before={CF: _FORGE}),
    Entry("fake_judge_module", "cheat", {CF: 0, FW: 0, CB: 0, BW: 0}, before={CF: "import sys, types\nsys.modules['_judge'] = types.SimpleNamespace(check=lambda *a: print('hidden checks passed'))\n"}),
    Entry("runs_the_master_notebook", "cheat", {CF: 0, FW: 0, CB: 0, BW: 0}, cells={CF: _RUN_MASTER, **dict.fromkeys((FW, CB, BW), "# defined above")}),
    Entry("hard_coded_example", "cheat", {CB: 0}, cells={CB: '''import json
def lstm_cell_backward(dh_next, dc_next, cache):
    """Returns the visible example's answer, read from the self-check data."""
    expected = json.load(open("spec.json"))["exercises"]["lstm_cell_backward"]["example"]["expected"]
    keys = ("dxt", "dh_prev", "dc_prev", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo")
    return {k: np.array(v["array"]) for k, v in zip(keys, expected)}'''}),
    Entry("rebound_self_check", "cheat", {CB: 2}, edits={CB: [("dc = dc_next + dh_next * ot * (1 - tanh_c ** 2)", "dc = dc_next")]}, before={CB: _QUIET_SELF_CHECK}),
]

FAULT = [
    Entry("loops_forever", "fault", {CB: 0}, before={CB: "import time\n"}, edits={CB: [("tanh_c = np.tanh(c_next)", "while True:\n        time.sleep(0.01)\n    tanh_c = 0")]}),
    Entry("raises", "fault", {FW: 0}, edits={FW: [("caches.append(cache)", 'raise ValueError("not today")')]}),
    Entry("kills_its_process", "fault", {CF: 0}, before={CF: "import os\n"}, edits={CF: [("ft = sigmoid(", "os._exit(3)\n    ft = sigmoid(")]}),
    Entry("exhausts_memory", "fault", {BW: 0}, edits={BW: [("dh0 = dh_prevt", "dh0 = dh_prevt + np.ones((1 << 38,)).sum()")]}),
]

CORPUS = BUGGY + VALID + CHEAT + FAULT
