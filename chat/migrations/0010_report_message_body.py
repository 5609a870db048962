# A report keeps the reported message's body as it was when reported (Report.message_body):
# its author may edit it afterwards. Earlier reports have none.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0009_reports_and_moderation'),
    ]

    operations = [
        migrations.AddField(
            model_name='report',
            name='message_body',
            field=models.TextField(blank=True, editable=False, null=True),
        ),
    ]
