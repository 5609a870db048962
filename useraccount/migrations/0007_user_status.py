
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('useraccount', '0006_bots_and_sessions'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='status_emoji',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AddField(
            model_name='user',
            name='status_expires_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='user',
            name='status_text',
            field=models.CharField(blank=True, default='', max_length=255),
        ),
    ]
