package ussd

// RedisKeys are the hold and state keys a RedisStore under prefix keeps the
// session key in (tests only).
func RedisKeys(prefix, key string) (hold, state string) {
	s := &RedisStore{prefix: prefix}
	return s.holdKey(key), s.stateKey(key)
}
