-- Single-item encrypt of 64 bytes.
dofile(os.getenv("WRK_DIR") .. "/report.lua")
wrk.path = "/v1/keys/" .. KEY .. "/encrypt"
wrk.body = '{"plaintext":"' .. PLAINTEXT .. '"}'
