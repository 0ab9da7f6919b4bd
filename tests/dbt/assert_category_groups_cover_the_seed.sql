-- Every group the product_category_groups seed maps a category to has its
-- share_spend_<group> feature and spend_share_<group> profile column: the
-- groups are listed once, in the category_groups() macro.
select distinct category_group
from {{ ref('product_category_groups') }}
where category_group not in (
    {%- for category_group in category_groups() %}
        '{{ category_group }}'{{ "," if not loop.last }}
    {%- endfor %}
)
