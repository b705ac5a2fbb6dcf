"""The driver's closing time line: each part as h:mm:ss, what no part covers as `other`."""

from sweep.summary import time_split_line


def test_the_time_line_names_each_part_and_what_is_left():
    line = time_split_line([("corpus", 2.4), ("pretrain", 3725.0), ("probe", 59.6), ("tables and figures", 21.0)], 3840.0)
    assert line == ("time: corpus 0:00:02, pretrain 1:02:05, probe 0:01:00, tables and figures 0:00:21, "
                    "other 0:00:32, total 1:04:00 (this driver)")


def test_other_is_never_negative():
    assert ", other 0:00:00, total 0:00:09" in time_split_line([("pretrain", 10.0)], 9.0)
