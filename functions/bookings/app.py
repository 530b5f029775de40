"""GET /bookings/{bookingId}: the new code for a route the legacy system still serves, written as
a plain AWS Lambda handler (payload format 2.0) and run by the gateway as warm worker processes
under awslambdaric. It answers like the legacy backend (legacy/backend.py) — except that it has
not learnt the fare class yet, which shadowing shows."""
import datetime
import json
import os

PASSENGERS = ["Ada", "Bob", "Chen", "Dana"]


def handler(event, context):
    booking_id = (event.get("pathParameters") or {}).get("bookingId", "")
    n = int(booking_id[1:]) if booking_id[:1] == "B" and booking_id[1:].isdigit() else 0
    if n <= 0:
        return answer(404, {"message": "No such booking"})
    print(f"booking {booking_id} read by {os.environ['AWS_LAMBDA_FUNCTION_NAME']}")
    return answer(200, {
        "bookingId": booking_id,
        "flightId": "LH123-1",
        "passenger": PASSENGERS[n % len(PASSENGERS)],
        "seat": f"{n % 30 + 1}{'ABCDEF'[n % 6]}",
        "status": "confirmed",
        "updatedAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    })


def answer(status, body):
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
