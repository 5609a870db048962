"""``manage.py push_vapid_keys``: a new VAPID key pair for Web Push, as the settings take it."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print a new VAPID private key (PUSH_VAPID_PRIVATE_KEY) and its public key."

    def handle(self, *args, **options):
        from cryptography.hazmat.primitives.asymmetric import ec

        from chat.push.devices import b64url_encode, vapid_public_key

        private = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")
        encoded = b64url_encode(private)
        self.stdout.write(f"PUSH_VAPID_PRIVATE_KEY={encoded}\n")
        self.stdout.write(f"# public key (GET /api/devices/vapid/): {vapid_public_key(encoded)}\n")
