#!/usr/bin/env python3
"""Seal a signed bid (or confirm a contract with a signature) through the Jicai API.

Needs only the ``cryptography`` package (pip install cryptography) and an API token (the
*API token* page). The private key stays with you: this script signs locally and sends
the signature; see docs/signatures.md for the canonical content it signs.

    # once: make a P-256 key and register its public key (or register the key of your
    # X.509 signing certificate on the Signing keys page)
    python sign_bid.py --base http://127.0.0.1:8000 --token "$TOKEN" new-key maker.pem
    python sign_bid.py --base ... --token ... register maker.pem --name "tender server"

    # a new bid (version 1)
    python sign_bid.py --base ... --token ... bid maker.pem --round DEMO-2026-D1 \\
        --item D-CLO-OS --specification 75MG-7 --product 12 \\
        --product-code 国药准字H20990001 --price 0.5500 --capacity 6000000

    # a revision or re-confirmation of bid 34 (signs version current_version + 1)
    python sign_bid.py --base ... --token ... revise maker.pem --bid 34 --product 12 \\
        --product-code 国药准字H20990001 --price 0.5400 --capacity 6000000

    # confirm contract 7 with a signature of its canonical content
    python sign_bid.py --base ... --token ... confirm maker.pem --contract 7
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import urllib.error
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

BID_SIGNATURE_FORMAT = "jicai-bid-signature/1"


def canonical_json(document: dict) -> bytes:
    """Sorted keys, no whitespace, UTF-8 (bidding.sealing.canonical_json)."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def bid_content(
    *,
    round_code: str,
    manufacturer_code: str,
    item: str,
    specification: str,
    product_code: str,
    version: int,
    price: str,
    capacity: int,
) -> bytes:
    """What a bidder signs for one version of one bid (bidding.signatures)."""
    return canonical_json(
        {
            "format": BID_SIGNATURE_FORMAT,
            "round": round_code,
            "manufacturer": manufacturer_code,
            "item": item,
            "specification": specification,
            "product": product_code,
            "version": version,
            "unit_price": f"{Decimal(price).quantize(Decimal('0.0001')):.4f}",
            "annual_capacity": str(capacity),
        }
    )


def load_key(path: str) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        sys.exit("the key must be an ECDSA P-256 private key (PEM)")
    return key


def fingerprint(key: ec.EllipticCurvePrivateKey) -> str:
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def signature(key: ec.EllipticCurvePrivateKey, content: bytes) -> dict[str, str]:
    value = key.sign(content, ec.ECDSA(hashes.SHA256()))  # DER; raw r||s is accepted too
    return {"key": fingerprint(key), "value": base64.b64encode(value).decode("ascii")}


class Api:
    def __init__(self, base: str, token: str) -> None:
        if not base.startswith(("http://", "https://")):
            sys.exit("--base must be an http:// or https:// URL")
        self.base = base.rstrip("/") + "/api/v1/"
        self.token = token

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
            headers["Idempotency-Key"] = str(uuid.uuid4())
        request = urllib.request.Request(  # noqa: S310 (http or https only, checked above)
            self.base + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request) as response:  # noqa: S310 (the URL is yours)
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            sys.exit(f"{error.code}: {error.read().decode('utf-8', 'replace')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="your API token")
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("new-key", help="write a new P-256 private key (PEM)")
    new.add_argument("path")
    register = commands.add_parser("register", help="register the key's public key")
    register.add_argument("key")
    register.add_argument("--name", default="API client")
    bid = commands.add_parser("bid", help="seal a new signed bid")
    revise = commands.add_parser("revise", help="seal a signed revision or re-confirmation")
    for command in (bid, revise):
        command.add_argument("key")
        command.add_argument("--product", type=int, required=True, help="your product's id")
        command.add_argument("--product-code", required=True, help="its approval number")
        command.add_argument("--price", required=True)
        command.add_argument("--capacity", type=int, required=True)
    bid.add_argument("--round", required=True)
    bid.add_argument("--item", required=True)
    bid.add_argument("--specification", required=True)
    revise.add_argument("--bid", type=int, required=True)
    confirm = commands.add_parser("confirm", help="confirm a contract with a signature")
    confirm.add_argument("key")
    confirm.add_argument("--contract", type=int, required=True)
    args = parser.parse_args()
    api = Api(args.base, args.token)

    if args.command == "new-key":
        key = ec.generate_private_key(ec.SECP256R1())
        Path(args.path).write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),  # protect the file; or use BestAvailableEncryption
            )
        )
        print(f"key written to {args.path}, fingerprint {fingerprint(key)}")
        return
    key = load_key(args.key)
    if args.command == "register":
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        answer = api.call(
            "POST", "signing-keys/", {"name": args.name, "public_key": public.decode("ascii")}
        )
        print(json.dumps(answer, indent=1, ensure_ascii=False))
        return
    if args.command == "confirm":
        offered = api.call("GET", f"contracts/{args.contract}/signing-content/")
        signed = signature(key, base64.b64decode(offered["content"]))
        answer = api.call("POST", f"contracts/{args.contract}/confirm/", {"signature": signed})
        print(json.dumps(answer, indent=1, ensure_ascii=False))
        return
    me = api.call("GET", "me/")
    manufacturer_code = me["organization"]["social_credit_code"]
    if args.command == "bid":
        round_code, item, specification, version = args.round, args.item, args.specification, 1
        path = "bids/"
    else:
        current = api.call("GET", f"bids/{args.bid}/")
        round_code, item, specification = (
            current["round"],
            current["item"],
            current["specification"],
        )
        version = current["current_version"] + 1
        path = f"bids/{args.bid}/revise/"
    content = bid_content(
        round_code=round_code,
        manufacturer_code=manufacturer_code,
        item=item,
        specification=specification,
        product_code=args.product_code,
        version=version,
        price=args.price,
        capacity=args.capacity,
    )
    body = {
        "product": args.product,
        "unit_price": args.price,
        "annual_capacity": args.capacity,
        "signature": signature(key, content),
    }
    if args.command == "bid":
        body.update(round=round_code, item=item, specification=specification)
    answer = api.call("POST", path, body)
    print(json.dumps(answer, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
