# SPDX-License-Identifier: MIT
# Sourced by every test (AM_TESTS_ENVIRONMENT): where the servers of tests/services.sh answer,
# and where the source and build trees are. A variable already set by the caller wins.
: "${LC_TEST_MONGO_PORT:=27117}"
export LIVECHAT_MONGO_URI="${LIVECHAT_MONGO_URI:-mongodb://127.0.0.1:${LC_TEST_MONGO_PORT}/}"
export LIVECHAT_AMQP_URL="${LIVECHAT_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"
export LIVECHAT_LOG_LEVEL="${LIVECHAT_LOG_LEVEL:-warn}"
export LC_TOP_SRCDIR="${top_srcdir}" LC_TOP_BUILDDIR="${top_builddir}"
