-- Single-item encrypt of 64 bytes through the Vault Transit API (the same key, body and token as
-- encrypt.lua; Transit takes the bearer token as the native API does).
dofile(os.getenv("WRK_DIR") .. "/report.lua")
wrk.path = "/v1/transit/encrypt/" .. KEY
wrk.body = '{"plaintext":"' .. PLAINTEXT .. '"}'
