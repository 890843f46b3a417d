/* thread_state.c — no OS call, but thread-local state: still impure. */
_Thread_local int scratch;

int impure_tls(void) { return ++scratch; }
