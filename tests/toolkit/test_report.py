"""The reporter's streams: a name the terminal's encoding cannot show, and a reader that went
away (a broken pipe), neither of which may fail the command."""

from __future__ import annotations

import io
import json

from toolkit.report import Reporter


def strict(encoding: str = "utf-8") -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="strict")


def written(stream: io.TextIOWrapper) -> str:
    stream.flush()
    return stream.buffer.getvalue().decode(stream.encoding)


def test_a_file_name_in_another_encoding_is_shown_escaped():
    """A path from a non-UTF-8 file name reaches Python as surrogates; stdout in strict mode
    (PYTHONIOENCODING=utf-8:strict) refused it: `plan --local` ended 'unexpected error'."""
    out, err = strict(), strict("ascii")
    reporter = Reporter("text", out=out, err=err, tty=False)
    reporter.info("stands in for /tmp/h16\udcff/example.yaml")
    reporter.error("café")
    assert written(out) == "stands in for /tmp/h16\\udcff/example.yaml\n"
    assert written(err) == "ERROR: caf\\xe9\n"


class Gone(io.StringIO):
    """A pipe whose reader went away."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_that_went_away_is_one_warning_and_the_command_carries_on():
    err = io.StringIO()
    reporter = Reporter("json", out=Gone(), err=err, tty=False)
    reporter.info("progress")  # json mode: messages on stderr, still written
    reporter.record("result", "deployed")
    reporter.finish()  # the document cannot be written: no exception
    reporter.progress("global", "UPDATE_IN_PROGRESS", {"us-east-1": "x"}, 3.0)
    lines = err.getvalue().splitlines()
    assert lines[0] == "progress"
    assert lines[1] == ("WARNING: the output was closed (broken pipe): nothing more is printed "
                        "to it; the command carries on")
    text_err = io.StringIO()
    text = Reporter("text", out=Gone(), err=text_err, tty=False)
    for _ in range(3):
        text.info("line")  # the stream is left alone from the first failure on
    assert text_err.getvalue().count("WARNING") == 1
    assert json.dumps(reporter.document) == '{"result": "deployed"}'
