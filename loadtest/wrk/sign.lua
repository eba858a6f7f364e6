-- Sign a SHA-256 digest with $KMS_KEY (an ECDSA P-256 or RSA key).
dofile(os.getenv("WRK_DIR") .. "/report.lua")
wrk.path = "/v1/keys/" .. KEY .. "/sign"
wrk.body = '{"input":"n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=","prehashed":true}'
