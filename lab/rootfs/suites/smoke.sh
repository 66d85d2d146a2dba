#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Boot smoke suite: the guest came up as the job asked.
exec /lab/bin/ktap-smoke
