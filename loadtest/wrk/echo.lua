-- The baseline: the same request body as encrypt.lua, echoed by kms-echo.
dofile(os.getenv("WRK_DIR") .. "/report.lua")
wrk.path = "/echo"
wrk.body = '{"plaintext":"' .. PLAINTEXT .. '"}'
