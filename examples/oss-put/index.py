import os

import oss2


def handler(event, context):
    creds = context.credentials
    auth = oss2.StsAuth(creds.access_key_id, creds.access_key_secret, creds.security_token)
    endpoint = os.environ.get('OSS_ENDPOINT', 'http://oss-cn-hangzhou-internal.aliyuncs.com')
    bucket = oss2.Bucket(auth, endpoint, os.environ.get('OSS_BUCKET', 'my-bucket'))
    bucket.put_object('my-object', event or b'hello world')
    return 'success'
