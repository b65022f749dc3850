"""The original secGear secure channel's Python functions, same names and argument order,
on top of this package. Two modules, as the client and the server have functions of the
same names:

* :mod:`secure_channel.compat.client` -- ``sec_chl_open(send_callback, uuid)``,
  ``sec_chl_close(ctx)``, ``sec_chl_encrypt(ctx, plain)``, ``sec_chl_decrypt(ctx, cipher)``,
  ``sec_chl_msg_recv_handle(ctx, input)``, ``sec_chl_session_id(ctx)``;
* :mod:`secure_channel.compat.server` -- ``sec_chl_open(send_callback, enclave_path)``,
  ``sec_chl_close()``, ``sec_chl_msg_recv_handle(input)``,
  ``sec_chl_recv_client_data_ex(session_id, input)``,
  ``sec_chl_get_client_data_handle_result_ex(session_id, output_max_len)``.

Where the original printed a message and returned 0 or None, these raise the package's
exceptions (:class:`secure_channel.SecureChannelError` and its subclasses, or TypeError
and ValueError for bad arguments). docs/PYTHON.md maps each function.
"""

from . import client, server

__all__ = ["client", "server"]
