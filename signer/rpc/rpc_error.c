#include "signer/rpc/rpc_error.h"

#include <string.h>

const char *rpc_strerror(int status)
{
	switch (status) {
	case RPC_OK:
		return "success";
	case RPC_ERR_NOMEM:
		return "out of memory";
	case RPC_ERR_CLOSED:
		return "connection closed";
	case RPC_ERR_TRUNCATED:
		return "connection closed inside a frame";
	case RPC_ERR_TOO_LARGE:
		return "frame larger than the maximum";
	case RPC_ERR_DECODE:
		return "malformed message";
	case RPC_ERR_INVALID:
		return "request refused";
	case RPC_ERR_IO:
		return "I/O error";
	case RPC_ERR_TLS:
		return "TLS error";
	case RPC_ERR_TIMEOUT:
		return "timed out";
	case RPC_ERR_ADDRESS:
		return "bad address or socket path";
	case RPC_ERR_PEER:
		return "peer identity unavailable";
	default:
		break;
	}
	if (status < 0 && status > -1000) {
		return strerror(-status);
	}
	return "unknown rpc status";
}
