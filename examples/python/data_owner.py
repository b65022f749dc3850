"""A data owner's job: attest the enclave, send it a CSV's values, print what it computed
and what the untrusted host relayed. Usage: data_owner.py readings.csv policy.toml HOST:PORT"""
import csv, socket, sys
import secure_channel as sc

csv_path, policy, address = sys.argv[1:4]
values = [row["value"] for row in csv.DictReader(open(csv_path, newline=""))]
host, port = address.rsplit(":", 1)
sock = socket.create_connection((host, int(port)), timeout=10)
relayed = []  # every message the host relayed, both ways

def transmit(message: bytes) -> bytes:  # our transport: one message out, the answer back
    sock.sendall(message)
    header = sock.recv(sc.MESSAGE_HEADER_LEN, socket.MSG_WAITALL)
    answer = header + sock.recv(sc.message_length(header) - len(header), socket.MSG_WAITALL)
    relayed.extend([message, answer])
    return answer

channel = sc.Channel(policy, lambda m: channel.feed(transmit(m)), acknowledgements=True)
channel.open()  # attests the enclave against the policy, or raises AttestationRejected
print(f"attested: {channel.claims}")
result = channel.decrypt(transmit(channel.encrypt(",".join(values).encode())))
print(f"{len(values)} rows; computed inside the enclave: {result.decode()}")
print(f"the host relayed {len(relayed)} messages ({sum(map(len, relayed))} bytes): handshake and ciphertext only")
sock.close()
