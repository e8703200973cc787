#!/usr/bin/python3
"""Writes the seed corpus of log_reader_fuzz (docs/formats/write-ahead-log.md).

Run from this folder: /usr/bin/python3 make_corpus.py. Needs python3-crcmod (Debian) for CRC-32C.
Files a fuzzer finds interesting can be added beside these, under any name.
"""
import struct
import crcmod.predefined

crc32c = crcmod.predefined.mkCrcFun('crc-32c')


def mask(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def record(seq, payload, batch_start=True):
    rest = b'QW' + bytes([1, 1 if batch_start else 0]) + struct.pack('<IQ', len(payload), seq)
    return struct.pack('<I', mask(crc32c(payload + rest))) + rest + payload


def log(batches, first=1):
    out, seq = b'', first
    for batch in batches:
        for i in range(batch):
            out += record(seq, b'change set %d' % seq * (seq % 3), i == 0)
            seq += 1
    return out


seeds = {
    'empty': b'',
    'one_record': record(1, b'hello'),
    'empty_payload': record(7, b''),
    'batches': log([1, 3, 2]),
    'torn_header': log([2]) + record(3, b'xyz')[:11],
    'torn_payload': log([2]) + record(3, b'abcdefgh')[:24],
    'zero_tail': log([1, 1]) + bytes(64),
    'bad_crc_last': log([1, 1])[:-1] + b'!',
    'damaged_middle': (lambda b: b[:25] + bytes([b[25] ^ 1]) + b[26:])(log([1, 1, 1])),
    'sequence_gap': record(1, b'a') + record(3, b'b'),
    'huge_length': record(1, b'a') + b'\0\0\0\0QW\x01\x01' + struct.pack('<IQ', 0xFFFFFFFF, 2),
    'last_batch_reordered': log([1]) + bytes(30) + record(3, b'later in batch', False),
}
for name, data in seeds.items():
    with open(name, 'wb') as f:
        f.write(data)
