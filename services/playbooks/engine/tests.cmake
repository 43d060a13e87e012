# Unit tests of the pure parts of the playbook engine: step timing, frequency caps, arm assignment, the
# enrolment state machine and the store keys. No store, no clock: every time is a fixed civil date.
steward_test(NAME step_timing_test SOURCES step_timing_test.cc DEPS steward_playbook_engine)
steward_test(NAME frequency_caps_test SOURCES frequency_caps_test.cc DEPS steward_playbook_engine)
steward_test(NAME compiled_playbook_test SOURCES compiled_playbook_test.cc DEPS steward_playbook_engine)
steward_test(NAME enrollment_machine_test SOURCES enrollment_machine_test.cc DEPS steward_playbook_engine)
steward_test(NAME enrollment_keys_test SOURCES enrollment_keys_test.cc DEPS steward_playbook_engine)
